package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"runtime"
	"time"
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

// SchemaFromRegistry fetches one version of a schema from a registry: reference is
// "registry+URI#SUBJECT[@N|@latest|@sha256:HEX]" (docs/evolution.md), checked against its
// fingerprint. The context's deadline bounds the fetch (10 s without one); when ctx ends first
// the fetch is left to finish on its own and its error is the context's. A bad reference is
// InvalidArgument, an unknown subject or version NotFound, an unreachable registry Unavailable.
func SchemaFromRegistry(ctx context.Context, reference string) (*Schema, error) {
	timeout := int64(10_000)
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d).Milliseconds(), 1)
	}
	type fetched struct {
		out *C.HmsSchema
		err error
	}
	done := make(chan fetched, 1)
	go func() {
		cref := C.CString(reference)
		defer C.free(unsafe.Pointer(cref))
		var out *C.HmsSchema
		var e *C.HmsError
		if C.hms_schema_from_registry(cref, C.int64_t(timeout), &out, &e) != 0 {
			done <- fetched{err: takeError(e)}
			return
		}
		done <- fetched{out: out}
	}()
	select {
	case f := <-done:
		if f.err != nil {
			return nil, f.err
		}
		return newSchema(f.out), nil
	case <-ctx.Done():
		go func() {
			if f := <-done; f.out != nil {
				C.hms_schema_free(f.out)
			}
		}()
		return nil, contextError(ctx)
	}
}
