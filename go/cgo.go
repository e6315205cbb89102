// Package hmsffi is the Go package of hms-ffi: call functions written in any language through
// one Protocol Buffers interface, in one process (inproc://) or across processes (unix://).
//
// It wraps the hms-ffi C ABI with cgo and links it statically: the module carries the C header
// (include/hms_ffi.h) and a prebuilt static library per platform (lib/GOOS_GOARCH/libhms_ffi.a,
// named by cgo_GOOS_GOARCH.go), so `go get github.com/hms-ffi/hms-ffi/go` needs a C compiler
// (cgo) but no Rust toolchain, and a program needs no shared library at run time. In a checkout
// of the repository, `make go-lib` builds the library (cargo build --release -p hms-ffi-capi)
// and puts it in lib/linux_amd64/.
//
//	schema, _ := hmsffi.LoadSchema("greeter.proto")
//	srv, _ := hmsffi.NewServer(schema)
//	srv.Handle("demo.v1.Greeter/SayHello", func(ctx context.Context, req map[string]any) (map[string]any, error) {
//		return map[string]any{"message": "Hello " + req["name"].(string)}, nil
//	})
//	srv.Listen("unix:///tmp/greeter.sock")
//	client, _ := hmsffi.Connect(ctx, "unix:///tmp/greeter.sock")
//	var reply map[string]any
//	err := client.Call(ctx, "demo.v1.Greeter/SayHello", map[string]any{"name": "Ada"}, &reply)
package hmsffi

/*
#cgo CFLAGS: -I${SRCDIR}/include
#include <stdlib.h>
#include "hms_ffi.h"

extern void hmsGoHandler(void *user, HmsCall *call, uint8_t *req, size_t len);
extern void hmsGoStreamHandler(void *user, HmsCall *call, const HmsServerStream *stream);
extern void hmsGoDone(void *user, int32_t code, uint8_t *reply, size_t len, uint8_t *md, size_t md_len, HmsError *err);

static int32_t go_server_handle(HmsServer *s, const char *m, HmsFormat f, uintptr_t h, HmsError **e) {
	return hms_server_handle_blocking(s, m, f, (HmsHandlerFn)hmsGoHandler, (void *)h, e);
}

static int32_t go_server_handle_stream(HmsServer *s, const char *m, HmsFormat f, uintptr_t h, HmsError **e) {
	return hms_server_handle_stream(s, m, f, (HmsStreamHandlerFn)hmsGoStreamHandler, (void *)h, e);
}

static uint64_t go_call_async(HmsClient *c, const char *m, HmsFormat f, const uint8_t *req, size_t n,
                              const HmsCallOptions *o, uintptr_t h) {
	return hms_client_call_async_with_options(c, m, f, req, n, o, (HmsReplyFn)hmsGoDone, (void *)h);
}
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

func goServerHandle(s *C.HmsServer, method *C.char, format C.HmsFormat, h cgo.Handle, e **C.HmsError) C.int32_t {
	return C.go_server_handle(s, method, format, C.uintptr_t(h), e)
}

func goServerHandleStream(s *C.HmsServer, method *C.char, format C.HmsFormat, h cgo.Handle, e **C.HmsError) C.int32_t {
	return C.go_server_handle_stream(s, method, format, C.uintptr_t(h), e)
}

func goCallAsync(c *C.HmsClient, args *callArgs, format C.HmsFormat, req []byte, h cgo.Handle) C.uint64_t {
	ptr, n := cBytes(req)
	return C.go_call_async(c, args.method, format, ptr, n, &args.options, C.uintptr_t(h))
}

// cBytes points C at a Go slice for the duration of a call (C copies what it keeps).
func cBytes(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// takeError converts and frees a C error.
func takeError(e *C.HmsError) error {
	if e == nil {
		return nil
	}
	defer C.hms_error_free(e)
	return errorFromC(e)
}

func errorFromC(e *C.HmsError) *Error {
	status := C.GoBytes(unsafe.Pointer(e.status.data), C.int(e.status.len))
	return newError(Code(e.code), C.GoString(e.message), status)
}
