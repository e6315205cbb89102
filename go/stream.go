package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"encoding/binary"
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
	ptr    *C.HmsClientStream
	ctx    context.Context
	stop   func() bool
	format C.HmsFormat
	convs  converters
	// Replies received in one batch and not yet returned by Recv, and how the stream ended
	// after them (nil while more may come; io.EOF, or the call's error).
	pending [][]byte
	ended   error
}

// Stream opens a streaming call of method. Send requests, CloseSend, then Recv replies until
// io.EOF; or use the Client's ServerStream and ClientStream helpers. A unary method is refused
// with FailedPrecondition. WaitForReady applies to opening it; Header and Trailer are ignored
// (see ClientStream.Header and Trailer).
func (c *Client) Stream(ctx context.Context, method string, opts ...CallOption) (*ClientStream, error) {
	return c.openStream(ctx, method, C.HMS_FORMAT_VALUE, opts...)
}

// openStream opens a streaming call exchanging messages in format (maps as CBOR, or protobuf).
func (c *Client) openStream(ctx context.Context, method string, format C.HmsFormat, opts ...CallOption) (*ClientStream, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(ctx)
	}
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	args := newCallArgs(ctx, method, o)
	defer args.free()
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return nil, NewError(FailedPrecondition, "client is closed")
	}
	var out *C.HmsClientStream
	var e *C.HmsError
	if C.hms_client_open_stream_with_options(c.ptr, args.method, uint32(format), &args.options, &out, &e) != 0 {
		return nil, takeError(e)
	}
	s := &ClientStream{ptr: out, ctx: ctx, format: format, convs: c.convs}
	s.stop = context.AfterFunc(ctx, func() { C.hms_client_stream_cancel(out) })
	runtime.SetFinalizer(s, (*ClientStream).free)
	return s, nil
}

// Send sends one request. It blocks while the server has not read a window's worth of what
// was sent. After the server has ended the call it returns nil and drops the request: Recv
// tells how the call ended.
func (s *ClientStream) Send(req map[string]any) error {
	body, err := encodeValue(req, s.convs, false)
	if err != nil {
		return err
	}
	return s.sendBody(body)
}

// sendBody sends one request already in the stream's format.
func (s *ClientStream) sendBody(body []byte) error {
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
// It takes every reply already here in one call into the library and returns them one by one.
// Like grpc-go's, Recv must not be called from two goroutines at once.
func (s *ClientStream) Recv() (map[string]any, error) {
	return s.convs.value(s.recvBody())
}

// recvBody returns the next reply in the stream's format, or how the stream ended.
func (s *ClientStream) recvBody() ([]byte, error) {
	if len(s.pending) == 0 && s.ended == nil {
		s.fill()
	}
	if len(s.pending) == 0 {
		return nil, s.ended
	}
	body := s.pending[0]
	s.pending[0] = nil
	s.pending = s.pending[1:]
	return body, nil
}

// fill takes the replies that are here (waiting for the first) into pending, and the end.
func (s *ClientStream) fill() {
	var batch C.HmsBytes
	var end C.bool
	var e *C.HmsError
	rc := C.hms_client_stream_recv_batch(s.ptr, 0, &batch, &end, &e)
	runtime.KeepAlive(s)
	buf := C.GoBytes(unsafe.Pointer(batch.data), C.int(batch.len))
	C.hms_bytes_free(&batch)
	s.pending = s.pending[:0]
	for len(buf) >= 4 {
		n := int(binary.LittleEndian.Uint32(buf))
		s.pending = append(s.pending, buf[4:4+n:4+n])
		buf = buf[4+n:]
	}
	switch {
	case rc != 0:
		s.ended = s.fromContext(takeError(e))
	case bool(end):
		s.ended = io.EOF
	}
}

// CloseAndRecv half-closes and returns the one reply of a client-streaming call, read to the
// end: Internal when the server ended the call without a reply or sent more than one.
func (s *ClientStream) CloseAndRecv() (map[string]any, error) {
	return s.convs.value(s.closeAndRecvBody())
}

// closeAndRecvBody half-closes and returns the one reply in the stream's format.
func (s *ClientStream) closeAndRecvBody() ([]byte, error) {
	s.CloseSend()
	var msg C.HmsBytes
	var e *C.HmsError
	rc := C.hms_client_stream_recv_only(s.ptr, &msg, &e)
	runtime.KeepAlive(s)
	if rc != 0 {
		return nil, s.fromContext(takeError(e))
	}
	return takeBytes(&msg), nil
}

// All yields the replies until the end; an error ends it (yielded once, never io.EOF).
// Stopping the loop early cancels the call.
func (s *ClientStream) All() iter.Seq2[map[string]any, error] {
	return replies(s.Recv, s.Cancel)
}

// replies yields what recv returns until io.EOF or an error (yielded once); a loop that stops
// early cancels the call.
func replies[T any](recv func() (T, error), cancel func()) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			reply, err := recv()
			if err == io.EOF {
				return
			}
			if !yield(reply, err) || err != nil {
				if err == nil {
					cancel()
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

// Header returns the response headers once they have arrived: before the first reply when the
// handler sent them early (SendHeader), else with it or at the end; empty before.
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
// the sequence (yielded once). Breaking out of the loop cancels the call. Of opts, WaitForReady
// applies (to opening the stream).
func (c *Client) ServerStream(ctx context.Context, method string, req map[string]any, opts ...CallOption) iter.Seq2[map[string]any, error] {
	return func(yield func(map[string]any, error) bool) {
		s, err := c.Stream(ctx, method, opts...)
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
// reply. The requests are sent as the server reads them (flow control). Of opts, WaitForReady
// applies (to opening the stream).
func (c *Client) ClientStream(ctx context.Context, method string, reqs iter.Seq[map[string]any], opts ...CallOption) (map[string]any, error) {
	s, err := c.Stream(ctx, method, opts...)
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
