package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"sync"
	"unsafe"
)

// CallInfo is what a handler knows about its call besides the request; read it with
// CallInfoFromContext while the handler runs (the deadline is the context's own). It is read
// from the core once, on first use.
type CallInfo struct {
	mu      sync.Mutex
	call    *C.HmsCall // nil once the call is completed
	fetched bool
	info    callInfoJSON
}

type callInfoJSON struct {
	Method      string           `json:"method"`
	Metadata    [][2]string      `json:"metadata"`
	TraceID     string           `json:"trace_id"`
	Identity    *string          `json:"identity"`
	Peer        string           `json:"peer"`
	Transport   string           `json:"transport"`
	Credentials *PeerCredentials `json:"peer_credentials"`
	Certificate *struct {
		Identity string `json:"identity"`
		Subject  string `json:"subject"`
		DER      []int  `json:"der"`
	} `json:"peer_certificate"`
	md MD
}

// PeerCredentials are the kernel's credentials of a unix caller (unix://, grpc+unix://).
type PeerCredentials struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
	// PID is the caller's process id, or -1 where the platform does not report it.
	PID int32 `json:"pid"`
}

// PeerCertificate is the certificate a client presented over mutual TLS.
type PeerCertificate struct {
	// Identity is the certificate's first URI SAN, else its first DNS SAN, else its CN.
	Identity string
	// Subject is the distinguished name (RFC 4514), e.g. "CN=alice,O=Example".
	Subject string
	// DER is the whole certificate.
	DER []byte
}

type callInfoKey struct{}

// CallInfoFromContext returns the call a handler's ctx belongs to; ok is false for a context
// that is not a handler's.
func CallInfoFromContext(ctx context.Context) (info *CallInfo, ok bool) {
	info, ok = ctx.Value(callInfoKey{}).(*CallInfo)
	return info, ok
}

// get reads the call's facts from the core on first use.
func (c *CallInfo) get() *callInfoJSON {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.fetched && c.call != nil {
		c.fetched = true
		var out C.HmsBytes
		if C.hms_call_info(c.call, &out) == 0 {
			_ = json.Unmarshal(C.GoBytes(unsafe.Pointer(out.data), C.int(out.len)), &c.info)
			C.hms_bytes_free(&out)
		}
		c.info.md = mdFromPairs(c.info.Metadata)
	}
	return &c.info
}

// finish is called before the call is completed: the call pointer is no longer valid after.
func (c *CallInfo) finish() {
	c.mu.Lock()
	c.call = nil
	c.mu.Unlock()
}

func (c *CallInfo) setMetadata(trailer bool, key, value string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.call == nil {
		return NewError(FailedPrecondition, "the call is already completed")
	}
	ck, cv := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	var e *C.HmsError
	if C.hms_call_set_metadata(c.call, C.bool(trailer), ck, cv, &e) != 0 {
		return takeError(e)
	}
	return nil
}

// SendHeader sends the response headers set so far now, ahead of any reply (gRPC's
// SendHeader); see the package function SendHeader.
func (c *CallInfo) SendHeader() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.call == nil {
		return NewError(FailedPrecondition, "the call is already completed")
	}
	C.hms_call_send_headers(c.call)
	return nil
}

// Method is the full method name called: "package.Service/Method".
func (c *CallInfo) Method() string { return c.get().Method }

// Metadata is the request metadata the caller sent.
func (c *CallInfo) Metadata() MD { return c.get().md }

// TraceID is the call's trace id: the caller's (its traceparent, or the legacy x-trace-id of 32 hex digits), or a new one.
func (c *CallInfo) TraceID() string { return c.get().TraceID }

// Peer is the caller as the transport sees it (inproc:NAME, unix:PATH, an address).
func (c *CallInfo) Peer() string { return c.get().Peer }

// Transport names the transport the call came over: inproc, unix, grpc, http, …
func (c *CallInfo) Transport() string { return c.get().Transport }

// Identity is the authenticated caller (`uid:1000` over unix, a bearer token's `sub`), or ""
// when there is none (inproc).
func (c *CallInfo) Identity() string {
	if id := c.get().Identity; id != nil {
		return *id
	}
	return ""
}

// PeerCredentials returns the kernel's credentials of a unix caller; ok is false on other
// transports.
func (c *CallInfo) PeerCredentials() (cred PeerCredentials, ok bool) {
	if p := c.get().Credentials; p != nil {
		return *p, true
	}
	return PeerCredentials{}, false
}

// PeerCertificate returns the client certificate of a mutual-TLS caller; ok is false without.
func (c *CallInfo) PeerCertificate() (cert PeerCertificate, ok bool) {
	p := c.get().Certificate
	if p == nil {
		return PeerCertificate{}, false
	}
	der := make([]byte, len(p.DER))
	for i, b := range p.DER {
		der[i] = byte(b)
	}
	return PeerCertificate{Identity: p.Identity, Subject: p.Subject, DER: der}, true
}
