package hmsffi

/*
#include "hms_ffi.h"
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// hmsGoHandler runs the handler on the hms-ffi thread that read the call (the caller's own
// thread on inproc://), registered with hms_server_handle_blocking: no goroutine hand-off, so
// no thread wake-up, between the call and its handler. The core keeps serving other calls and
// connections on other threads while a handler blocks.
//
//export hmsGoHandler
func hmsGoHandler(user unsafe.Pointer, call *C.HmsCall, req *C.uint8_t, n C.size_t) {
	h := cgo.Handle(uintptr(user)).Value().(*route)
	request := C.GoBytes(unsafe.Pointer(req), C.int(n))
	h.serve(call, request)
}

// hmsGoStreamHandler runs a streaming handler on a thread of hms-ffi's blocking pool, where it
// may block for as long as the stream lasts.
//
//export hmsGoStreamHandler
func hmsGoStreamHandler(user unsafe.Pointer, call *C.HmsCall, stream *C.HmsServerStream) {
	cgo.Handle(uintptr(user)).Value().(*streamRoute).serve(call, stream)
}

// hmsGoDone runs on an hms-ffi thread when an asynchronous call ends.
//
//export hmsGoDone
func hmsGoDone(user unsafe.Pointer, code C.int32_t, reply *C.uint8_t, n C.size_t, md *C.uint8_t, mdLen C.size_t, err *C.HmsError) {
	h := cgo.Handle(uintptr(user))
	ch := h.Value().(chan result)
	h.Delete()
	var res result
	if md != nil {
		res.headers, res.trailers = parseResponseMetadata(C.GoBytes(unsafe.Pointer(md), C.int(mdLen)))
	}
	if code == 0 {
		res.reply = C.GoBytes(unsafe.Pointer(reply), C.int(n))
	} else {
		res.err = errorFromC(err)
		res.err.Headers, res.err.Trailers = res.headers, res.trailers
	}
	ch <- res
}
