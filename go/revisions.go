package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"unsafe"
)

// Two versions side by side (docs/evolution.md): a server serves other revisions of its schema
// beside the main one, each with its own handlers, and a call chooses one with the
// "hms-schema-revision" metadata entry (WithRevision sends it). The core routes, checks and
// transcodes; Go passes names and schemas in and reads JSON out.

// SchemaRevisionKey is the call metadata key that chooses the schema revision a call speaks:
// a revision's label or fingerprint; without it, the server's main schema.
const SchemaRevisionKey = "hms-schema-revision"

// AddRevision serves schema beside the main one as the revision label and returns its
// fingerprint. Register its handlers on Revision(label). A label or schema already served is
// AlreadyExists; an empty label InvalidArgument.
func (s *Server) AddRevision(label string, schema *Schema) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return "", NewError(FailedPrecondition, "server is closed")
	}
	cl := C.CString(label)
	defer C.free(unsafe.Pointer(cl))
	var fingerprint *C.char
	var e *C.HmsError
	if C.hms_server_add_revision(s.ptr, cl, schema.ptr, &fingerprint, &e) != 0 {
		return "", takeError(e)
	}
	defer C.hms_string_free(fingerprint)
	return C.GoString(fingerprint), nil
}

// Revision is a handle on s whose Handle… registrations go to the revision label (or
// fingerprint), checked against its schema; everything else acts on the whole server (its
// Shutdown shuts s down). NotFound for a revision s does not serve.
func (s *Server) Revision(label string) (*Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return nil, NewError(FailedPrecondition, "server is closed")
	}
	cl := C.CString(label)
	defer C.free(unsafe.Pointer(cl))
	var out *C.HmsServer
	var e *C.HmsError
	if C.hms_server_revision(s.ptr, cl, &out, &e) != 0 {
		return nil, takeError(e)
	}
	r := &Server{ptr: out, convs: s.convs, main: s}
	s.revisions = append(s.revisions, r)
	return r, nil
}

// owner is the server whose lock and handles a registration uses: the main one for a
// Revision handle.
func (s *Server) owner() *Server {
	if s.main != nil {
		return s.main
	}
	return s
}

// Revisions lists the revisions served beside the main schema, label → fingerprint.
func (s *Server) Revisions() map[string]string {
	found := map[string]string{}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return found
	}
	_ = jsonOf("the revisions", func(out *C.HmsBytes) C.int32_t { return C.hms_server_revisions(s.ptr, out) }, &found)
	return found
}

// Bridge serves the main schema's method with the handler registered for it in revision (the
// migration path: a v1 handler answers v2 callers). The method must read alike on the wire in
// both, or Bridge fails with FailedPrecondition (Reason "INCOMPATIBLE_SCHEMA") and the findings.
func (s *Server) Bridge(revision, method string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return NewError(FailedPrecondition, "server is closed")
	}
	cr, cm := C.CString(revision), C.CString(method)
	defer C.free(unsafe.Pointer(cr))
	defer C.free(unsafe.Pointer(cm))
	var e *C.HmsError
	if C.hms_server_bridge(s.ptr, cr, cm, &e) != 0 {
		return takeError(e)
	}
	return nil
}

// WithRevision chooses the schema revision the client speaks (a label or fingerprint the server
// announces): the client uses that revision's schema and every call carries SchemaRevisionKey.
// Connect fails with FailedPrecondition (Reason "UNKNOWN_SCHEMA_REVISION") for one the server
// does not serve. Without it, a WithExpectSchema schema the server serves as a revision chooses it.
func WithRevision(label string) ConnectOption {
	return func(o *connectOptions) { o.revision = &label }
}

type clientRevision struct {
	Revision  *string           `json:"revision"`
	Revisions map[string]string `json:"revisions"`
}

func (c *Client) revisionInfo() clientRevision {
	var r clientRevision
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr != nil {
		_ = jsonOf("the revision", func(out *C.HmsBytes) C.int32_t { return C.hms_client_revision(c.ptr, out) }, &r)
	}
	return r
}

// Revision is the fingerprint of the schema revision the client speaks, "" for the server's
// main schema.
func (c *Client) Revision() string {
	if r := c.revisionInfo().Revision; r != nil {
		return *r
	}
	return ""
}

// Revisions lists the revisions the server announced beside its main schema, label →
// fingerprint.
func (c *Client) Revisions() map[string]string {
	r := c.revisionInfo().Revisions
	if r == nil {
		r = map[string]string{}
	}
	return r
}
