package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"io"
	"iter"
	"runtime"
	"unsafe"
)

// ClientStream is a streaming call in progress (server-, client- or bidi-streaming), with
// requests and replies as map[string]any. Send and CloseSend may run on one goroutine while
// Recv runs on another. The context given to Client.Stream bounds the whole stream: its
// deadline travels to the server and its cancellation cancels the call. Flow control, deadlines
// and what a send after the end does are the core's rules (docs/wire.md, "Flow control").
type ClientStream struct {
	ptr  *C.HmsClientStream
	ctx  context.Context
	stop func() bool
}

// Stream opens a streaming call of method. Send requests, CloseSend, then Recv replies until
// io.EOF; or use the Client's ServerStream and ClientStream helpers. A unary method is refused
// with FailedPrecondition.
func (c *Client) Stream(ctx context.Context, method string) (*ClientStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(ctx)
	}
	args := newCallArgs(ctx, method)
	defer args.free()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return nil, NewError(FailedPrecondition, "client is closed")
	}
	var out *C.HmsClientStream
	var e *C.HmsError
	if C.hms_client_open_stream(c.ptr, args.method, C.HMS_FORMAT_VALUE, C.int64_t(args.timeoutMs), args.mdPtr(), C.size_t(len(args.md)/2), &out, &e) != 0 {
		return nil, takeError(e)
	}
	s := &ClientStream{ptr: out, ctx: ctx}
	s.stop = context.AfterFunc(ctx, func() { C.hms_client_stream_cancel(out) })
	runtime.SetFinalizer(s, (*ClientStream).free)
	return s, nil
}

// Send sends one request. It blocks while the server has not read a window's worth of what
// was sent. After the server has ended the call it returns nil and drops the request: Recv
// tells how the call ended.
func (s *ClientStream) Send(req map[string]any) error {
	body, err := encodeValue(req)
	if err != nil {
		return err
	}
	ptr, n := cBytes(body)
	var e *C.HmsError
	rc := C.hms_client_stream_send(s.ptr, ptr, n, &e)
	runtime.KeepAlive(s)
	if rc != 0 {
		return s.fromContext(takeError(e))
	}
	return nil
}

// CloseSend says no more requests will come.
func (s *ClientStream) CloseSend() error {
	C.hms_client_stream_close_send(s.ptr)
	runtime.KeepAlive(s)
	return nil
}

// Recv returns the next reply, io.EOF once the server ended the call successfully, or the
// call's error (an *Error; the context's error when it was cancelled or its deadline passed).
func (s *ClientStream) Recv() (map[string]any, error) {
	var msg C.HmsBytes
	var end C.bool
	var e *C.HmsError
	rc := C.hms_client_stream_recv(s.ptr, &msg, &end, &e)
	runtime.KeepAlive(s)
	if rc != 0 {
		return nil, s.fromContext(takeError(e))
	}
	if end {
		return nil, io.EOF
	}
	return takeValue(&msg)
}

// takeValue decodes and frees a message hms-ffi returned in the value format.
func takeValue(msg *C.HmsBytes) (map[string]any, error) {
	defer C.hms_bytes_free(msg)
	var v map[string]any
	if err := decodeInto(C.GoBytes(unsafe.Pointer(msg.data), C.int(msg.len)), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// CloseAndRecv half-closes and returns the one reply of a client-streaming call, read to the
// end: Internal when the server ended the call without a reply or sent more than one.
func (s *ClientStream) CloseAndRecv() (map[string]any, error) {
	s.CloseSend()
	var msg C.HmsBytes
	var e *C.HmsError
	rc := C.hms_client_stream_recv_only(s.ptr, &msg, &e)
	runtime.KeepAlive(s)
	if rc != 0 {
		return nil, s.fromContext(takeError(e))
	}
	return takeValue(&msg)
}

// All yields the replies until the end; an error ends it (yielded once, never io.EOF).
// Stopping the loop early cancels the call.
func (s *ClientStream) All() iter.Seq2[map[string]any, error] {
	return func(yield func(map[string]any, error) bool) {
		for {
			reply, err := s.Recv()
			if err == io.EOF {
				return
			}
			if !yield(reply, err) || err != nil {
				if err == nil {
					s.Cancel()
				}
				return
			}
		}
	}
}

// Cancel cancels the call: the server's handler sees it cancelled, and a Recv waiting on
// another goroutine returns Canceled.
func (s *ClientStream) Cancel() {
	C.hms_client_stream_cancel(s.ptr)
	runtime.KeepAlive(s)
}

// Header returns the response headers (on unix:// and inproc:// they arrive with the end).
func (s *ClientStream) Header() MD {
	headers, _ := s.metadata()
	return headers
}

// Trailer returns the response trailers, complete once Recv returned io.EOF or an error.
func (s *ClientStream) Trailer() MD {
	_, trailers := s.metadata()
	return trailers
}

func (s *ClientStream) metadata() (MD, MD) {
	var out C.HmsBytes
	C.hms_client_stream_metadata(s.ptr, &out)
	runtime.KeepAlive(s)
	defer C.hms_bytes_free(&out)
	return parseResponseMetadata(C.GoBytes(unsafe.Pointer(out.data), C.int(out.len)))
}

// fromContext reports a cancellation the context caused as the context's error.
func (s *ClientStream) fromContext(err error) error {
	if CodeOf(err) == Canceled && s.ctx.Err() != nil {
		return contextError(s.ctx)
	}
	return err
}

// free releases the native stream (the finalizer: no goroutine can be using it).
func (s *ClientStream) free() {
	s.stop()
	C.hms_client_stream_free(s.ptr)
}

// ServerStream calls a server-streaming method with req and yields its replies; an error ends
// the sequence (yielded once). Breaking out of the loop cancels the call.
func (c *Client) ServerStream(ctx context.Context, method string, req map[string]any) iter.Seq2[map[string]any, error] {
	return func(yield func(map[string]any, error) bool) {
		s, err := c.Stream(ctx, method)
		if err == nil {
			err = s.Send(req)
		}
		if err != nil {
			yield(nil, err)
			return
		}
		s.CloseSend()
		s.All()(yield)
	}
}

// ClientStream calls a client-streaming method with the requests of reqs and returns its one
// reply. The requests are sent as the server reads them (flow control).
func (c *Client) ClientStream(ctx context.Context, method string, reqs iter.Seq[map[string]any]) (map[string]any, error) {
	s, err := c.Stream(ctx, method)
	if err != nil {
		return nil, err
	}
	for req := range reqs {
		if err := s.Send(req); err != nil {
			s.Cancel()
			return nil, err
		}
	}
	return s.CloseAndRecv()
}
