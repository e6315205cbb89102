package hmsffi

/*
#include "hms_ffi.h"
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// hmsGoHandler runs on an hms-ffi thread: it copies the request and hands the call to a
// goroutine, returning at once.
//
//export hmsGoHandler
func hmsGoHandler(user unsafe.Pointer, call *C.HmsCall, req *C.uint8_t, n C.size_t) {
	h := cgo.Handle(uintptr(user)).Value().(*route)
	request := C.GoBytes(unsafe.Pointer(req), C.int(n))
	go h.serve(call, request)
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
