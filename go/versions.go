package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// Versions at connect (docs/evolution.md): the core checks the schema a client was built
// against with the server's at connect and refuses the methods it breaks; Go passes the schema
// and reads what the core found, as JSON.

// SchemaVersion is what a server announces about its schema in discovery.
type SchemaVersion struct {
	// Fingerprint is "sha256:…" of the whole schema, as the schema registry computes it.
	Fingerprint string `json:"fingerprint"`
	// Subject is the schema registry subject, "" when unknown.
	Subject string `json:"subject"`
	// Version is the registry version, 0 when unknown.
	Version uint32 `json:"version"`
}

// WithExpectSchema gives the schema the client was built against: Connect checks it with the
// server's, IncompatibleMethods lists the methods the server's schema breaks, and a call to
// one fails with FailedPrecondition (Reason "INCOMPATIBLE_SCHEMA") before anything is sent.
func WithExpectSchema(schema *Schema) ConnectOption {
	return func(o *connectOptions) { o.expectSchema = schema }
}

// jsonOf reads the JSON a C function writes into HmsBytes into v; `what` names it in the
// error of a failed call.
func jsonOf(what string, fill func(out *C.HmsBytes) C.int32_t, v any) error {
	var out C.HmsBytes
	if code := fill(&out); code != 0 {
		return NewError(Code(code), "cannot read "+what)
	}
	defer C.hms_bytes_free(&out)
	return json.Unmarshal(C.GoBytes(unsafe.Pointer(out.data), C.int(out.len)), v)
}

// SchemaVersion is the schema version the server announced in discovery (its fingerprint, and
// the registry subject and version when it knows them); nil when the schema was given with
// WithSchema rather than discovered, or once the client is closed.
func (c *Client) SchemaVersion() *SchemaVersion {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return nil
	}
	var v *SchemaVersion
	if jsonOf("the schema version", func(out *C.HmsBytes) C.int32_t { return C.hms_client_schema_version(c.ptr, out) }, &v) != nil {
		return nil
	}
	return v
}

// IncompatibleMethods lists the methods of the WithExpectSchema schema that the server's schema
// breaks, each with its findings ("path:line:column:RULE_ID message"); empty when none is.
func (c *Client) IncompatibleMethods() map[string][]string {
	found := map[string][]string{}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return found
	}
	_ = jsonOf("the incompatible methods", func(out *C.HmsBytes) C.int32_t { return C.hms_client_incompatible_methods(c.ptr, out) }, &found)
	return found
}

// SchemaVersion is the schema version the server's discovery announces (the fingerprint;
// subject and version once SetSchemaVersion is called). The zero value once it is shut down.
func (s *Server) SchemaVersion() SchemaVersion {
	var v SchemaVersion
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return v
	}
	_ = jsonOf("the schema version", func(out *C.HmsBytes) C.int32_t { return C.hms_server_schema_version(s.ptr, out) }, &v)
	return v
}

// SetSchemaVersion records the schema registry subject and version of the schema served;
// discovery announces them from now on, and clients see them as Client.SchemaVersion.
func (s *Server) SetSchemaVersion(subject string, version uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return NewError(FailedPrecondition, "server is closed")
	}
	cs := C.CString(subject)
	defer C.free(unsafe.Pointer(cs))
	var e *C.HmsError
	if C.hms_server_set_schema_version(s.ptr, cs, C.uint32_t(version), &e) != 0 {
		return takeError(e)
	}
	return nil
}
