package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
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
// errors.As and errors.Is) — never both.
type BatchResult struct {
	Reply map[string]any
	Err   error
}

// Batch makes every call of calls as one batch and returns one result per call, in order. The
// rules are the core's (docs/messaging.md, "Batched calls"): the context's deadline is one
// deadline for the whole batch, counted from its start; a failed call is that call's result
// and the others go on; the context's metadata (WithMetadata) and WaitForReady apply to every
// call; cancelling the context ends every call not finished with Canceled. The error is
// non-nil only when the batch is refused whole (more than 100 000 calls: InvalidArgument,
// before anything is sent) or the client is closed. The calls go out together from this
// goroutine's thread, which waits for the last. Requests are values (maps); a proto.Message
// request is that call's InvalidArgument (use Call for typed messages).
func (c *Client) Batch(ctx context.Context, calls []BatchCall, opts ...CallOption) ([]BatchResult, error) {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	results := make([]BatchResult, len(calls))
	// Each request as CBOR, one after another in one buffer; one that does not convert is that
	// call's error, and the others are still sent.
	var body []byte
	var lens []C.size_t
	var methods []*C.char
	var sent []int
	defer func() {
		for _, m := range methods {
			C.free(unsafe.Pointer(m))
		}
	}()
	for i, call := range calls {
		if _, ok := call.Request.(proto.Message); ok {
			results[i].Err = NewError(InvalidArgument, "Batch takes value requests (map[string]any); use Call for a proto.Message")
			continue
		}
		b, err := encodeValue(call.Request, c.convs, false)
		if err != nil {
			results[i].Err = err
			continue
		}
		body = append(body, b...)
		lens = append(lens, C.size_t(len(b)))
		methods = append(methods, C.CString(call.Method))
		sent = append(sent, i)
	}
	args := newCallArgs(ctx, "", o)
	defer args.free()
	if err := ctx.Err(); err != nil {
		return nil, contextError(ctx)
	}
	out, err := c.batch(ctx, &args, methods, body, lens)
	if err != nil {
		return nil, err
	}
	for k, r := range out {
		results[sent[k]] = r
	}
	return results, nil
}

// batch makes the C ABI's blocking batch call and reads its results.
func (c *Client) batch(ctx context.Context, args *callArgs, methods []*C.char, body []byte, lens []C.size_t) ([]BatchResult, error) {
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
	if n > 0 {
		mp, lp = &methods[0], &lens[0]
	}
	ptr, _ := cBytes(body)
	var items *C.HmsBatchResult
	var e *C.HmsError
	if C.hms_client_batch(c.ptr, mp, ptr, lp, C.size_t(n), &args.options, id, &items, &e) != 0 {
		return nil, takeError(e)
	}
	defer C.hms_batch_free(items, C.size_t(n))
	out := make([]BatchResult, n)
	for i, item := range unsafe.Slice(items, n) {
		if item.code != 0 {
			out[i].Err = errorFromC(item.error)
			continue
		}
		reply := C.GoBytes(unsafe.Pointer(item.reply.data), C.int(item.reply.len))
		out[i].Err = decodeInto(reply, &out[i].Reply, c.convs)
	}
	return out, nil
}
