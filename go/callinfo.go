package hmsffi

/*
#include "hms_ffi.h"
*/
import "C"

import "context"

// CallInfo is what a handler knows about its caller besides the request; read it with
// CallInfoFromContext.
type CallInfo struct {
	identity string
	cred     *PeerCredentials
}

// PeerCredentials are the kernel's credentials of a unix caller (unix://, grpc+unix://).
type PeerCredentials struct {
	UID uint32
	GID uint32
	// PID is the caller's process id, or -1 where the platform does not report it.
	PID int32
}

type callInfoKey struct{}

// CallInfoFromContext returns the call a handler's ctx belongs to; ok is false for a context
// that is not a handler's.
func CallInfoFromContext(ctx context.Context) (info *CallInfo, ok bool) {
	info, ok = ctx.Value(callInfoKey{}).(*CallInfo)
	return info, ok
}

// Identity is the authenticated caller (`uid:1000` over unix, a bearer token's `sub`), or ""
// when there is none (inproc).
func (c *CallInfo) Identity() string {
	return c.identity
}

// PeerCredentials returns the kernel's credentials of a unix caller; ok is false on other
// transports.
func (c *CallInfo) PeerCredentials() (cred PeerCredentials, ok bool) {
	if c.cred == nil {
		return PeerCredentials{}, false
	}
	return *c.cred, true
}

// newCallInfo reads the caller from call while it is still live.
func newCallInfo(call *C.HmsCall) *CallInfo {
	info := &CallInfo{}
	if id := C.hms_call_identity(call); id != nil {
		info.identity = C.GoString(id)
		C.hms_string_free(id)
	}
	var uid, gid C.uint32_t
	var pid C.int32_t
	if C.hms_call_peer_credentials(call, &uid, &gid, &pid) {
		info.cred = &PeerCredentials{UID: uint32(uid), GID: uint32(gid), PID: int32(pid)}
	}
	return info
}
