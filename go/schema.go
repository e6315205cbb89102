package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Schema is a set of compiled .proto files.
type Schema struct {
	ptr *C.HmsSchema
}

func newSchema(ptr *C.HmsSchema) *Schema {
	s := &Schema{ptr: ptr}
	runtime.SetFinalizer(s, func(s *Schema) { C.hms_schema_free(s.ptr) })
	return s
}

// LoadSchema compiles a .proto file at runtime (no protoc); imports are looked up in
// includes, the file's folder and the well-known types.
func LoadSchema(path string, includes ...string) (*Schema, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	cincs := make([]*C.char, len(includes))
	for i, inc := range includes {
		cincs[i] = C.CString(inc)
		defer C.free(unsafe.Pointer(cincs[i]))
	}
	var incp **C.char
	if len(cincs) > 0 {
		incp = (**C.char)(C.malloc(C.size_t(len(cincs)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(incp))
		copy(unsafe.Slice(incp, len(cincs)), cincs)
	}
	var out *C.HmsSchema
	var e *C.HmsError
	if C.hms_schema_load(cpath, incp, C.size_t(len(cincs)), &out, &e) != 0 {
		return nil, takeError(e)
	}
	return newSchema(out), nil
}

// SchemaFromSource compiles one .proto file given as text.
func SchemaFromSource(name, source string) (*Schema, error) {
	cname, csrc := C.CString(name), C.CString(source)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(csrc))
	var out *C.HmsSchema
	var e *C.HmsError
	if C.hms_schema_from_source(cname, csrc, &out, &e) != 0 {
		return nil, takeError(e)
	}
	return newSchema(out), nil
}
