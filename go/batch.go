package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"errors"
	"unsafe"

	"google.golang.org/protobuf/proto"
)

// BatchCall is one call of a batch: a unary method and its request, a map[string]any (or any
// value Call takes in place of a proto.Message).
type BatchCall struct {
	Method  string
	Request any
}

// BatchResult is one call's outcome in a batch: its reply, or its error (an *Error, usable with
// errors.As and errors.Is) — never both — and the response headers and trailers the call's
// handler set (with a reply or with an error; empty when there were none).
type BatchResult struct {
	Reply           map[string]any
	Err             error
	Header, Trailer MD
}

// Batch makes every call of calls as one batch and returns one result per call, in order. The
// rules are the core's (docs/messaging.md, "Batched calls"): the context's deadline is one
// deadline for the whole batch, counted from its start; a failed call is that call's result
// and the others go on; the context's metadata (WithMetadata) and WaitForReady apply to every
// call; cancelling the context ends every call not finished with Canceled. The error is
// non-nil only when the batch is refused whole (more than 100 000 calls, counting those whose
// request did not convert: InvalidArgument, before anything is sent) or the client is closed.
// The calls go out together from this goroutine's thread, which waits for the last. Requests
// are values (maps); a proto.Message request is that call's InvalidArgument (use Call for
// typed messages).
func (c *Client) Batch(ctx context.Context, calls []BatchCall, opts ...CallOption) ([]BatchResult, error) {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	// Every call goes to the core, in order: its request as CBOR, one after another in one
	// buffer, or its error when it does not convert (refused), which the core keeps in its
	// place, never sends, and counts towards the batch's size.
	n := len(calls)
	var body []byte
	lens := make([]C.size_t, n)
	methods := make([]*C.char, n)
	var refused []*C.HmsError
	defer func() {
		for _, m := range methods {
			C.free(unsafe.Pointer(m))
		}
		for _, e := range refused {
			freeRefused(e)
		}
	}()
	for i, call := range calls {
		methods[i] = C.CString(call.Method)
		b, err := batchRequest(call.Request, c.convs)
		if err != nil {
			if refused == nil {
				refused = make([]*C.HmsError, n)
			}
			refused[i] = refusedError(err)
			continue
		}
		body = append(body, b...)
		lens[i] = C.size_t(len(b))
	}
	args := newCallArgs(ctx, "", o)
	defer args.free()
	if err := ctx.Err(); err != nil {
		return nil, contextError(ctx)
	}
	return c.batch(ctx, &args, methods, body, lens, refused)
}

// batchRequest is one call's request as CBOR, or why it does not convert.
func batchRequest(request any, cs converters) ([]byte, error) {
	if _, ok := request.(proto.Message); ok {
		return nil, NewError(InvalidArgument, "Batch takes value requests (map[string]any); use Call for a proto.Message")
	}
	return encodeValue(request, cs, false)
}

// refusedError is err as an error the core reads for a refused call (hms_client_batch's
// refused): its code, message and status with every detail, in C memory freed by freeRefused.
func refusedError(err error) *C.HmsError {
	var e *Error
	if !errors.As(err, &e) {
		e = NewError(InvalidArgument, err.Error())
	}
	p := (*C.HmsError)(C.calloc(1, C.size_t(unsafe.Sizeof(C.HmsError{}))))
	p.code = C.int32_t(e.code)
	p.message = C.CString(e.message)
	if st := statusBytes(e); len(st) > 0 {
		p.status.data = (*C.uint8_t)(C.CBytes(st))
		p.status.len = C.size_t(len(st))
	}
	return p
}

func freeRefused(p *C.HmsError) {
	if p == nil {
		return
	}
	C.free(unsafe.Pointer(p.message))
	C.free(unsafe.Pointer(p.status.data))
	C.free(unsafe.Pointer(p))
}

// batch makes the C ABI's blocking batch call and reads its results.
func (c *Client) batch(ctx context.Context, args *callArgs, methods []*C.char, body []byte, lens []C.size_t, refused []*C.HmsError) ([]BatchResult, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return nil, NewError(FailedPrecondition, "client is closed")
	}
	var id C.uint64_t
	if ctx.Done() != nil {
		id = C.hms_cancel_id_new()
		stop := context.AfterFunc(ctx, func() { C.hms_call_cancel(id) })
		defer stop()
	}
	n := len(lens)
	var mp **C.char
	var lp *C.size_t
	var rp **C.HmsError
	if n > 0 {
		mp, lp = &methods[0], &lens[0]
	}
	if len(refused) > 0 {
		rp = &refused[0]
	}
	ptr, _ := cBytes(body)
	var items *C.HmsBatchResult
	var e *C.HmsError
	if C.hms_client_batch(c.ptr, mp, ptr, lp, rp, C.size_t(n), &args.options, id, &items, &e) != 0 {
		return nil, takeError(e)
	}
	defer C.hms_batch_free(items, C.size_t(n))
	out := make([]BatchResult, n)
	for i, item := range unsafe.Slice(items, n) {
		if item.metadata.len > 0 {
			md := C.GoBytes(unsafe.Pointer(item.metadata.data), C.int(item.metadata.len))
			out[i].Header, out[i].Trailer = parseResponseMetadata(md)
		}
		if item.code != 0 {
			out[i].Err = errorFromC(item.error)
			continue
		}
		reply := C.GoBytes(unsafe.Pointer(item.reply.data), C.int(item.reply.len))
		out[i].Err = decodeInto(reply, &out[i].Reply, c.convs)
	}
	return out, nil
}
