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
	"runtime/cgo"
	"unsafe"
)

// ServerStream is the server side of a streaming call: Recv requests and Send replies, from
// one goroutine or two. It is valid until the handler returns.
type ServerStream struct {
	ptr   *C.HmsServerStream
	ctx   context.Context
	convs converters
}

// Context is the call's context: its deadline, cancellation and CallInfo.
func (s *ServerStream) Context() context.Context { return s.ctx }

// Recv returns the next request, io.EOF once the client has half-closed, or Canceled once
// the caller has gone or the deadline passed.
func (s *ServerStream) Recv() (map[string]any, error) {
	return s.convs.value(s.recvBody())
}

// recvBody returns the next request in the stream's format.
func (s *ServerStream) recvBody() ([]byte, error) {
	var msg C.HmsBytes
	var end C.bool
	var e *C.HmsError
	if C.hms_server_stream_recv(s.ptr, &msg, &end, &e) != 0 {
		return nil, takeError(e)
	}
	if end {
		return nil, io.EOF
	}
	return takeBytes(&msg), nil
}

// All yields the requests until the client half-closes; an error ends it (yielded once).
func (s *ServerStream) All() iter.Seq2[map[string]any, error] {
	return func(yield func(map[string]any, error) bool) {
		for {
			req, err := s.Recv()
			if err == io.EOF || !yield(req, err) || err != nil {
				return
			}
		}
	}
}

// Send sends one reply. It blocks while the caller has not read a window's worth of what was
// sent (flow control); Internal when reply does not fit the response type, Canceled once the
// caller has gone.
func (s *ServerStream) Send(reply map[string]any) error {
	body, err := encodeValue(reply, s.convs, true)
	if err != nil {
		return err
	}
	return s.sendBody(body)
}

// sendBody sends one reply already in the stream's format.
func (s *ServerStream) sendBody(body []byte) error {
	ptr, n := cBytes(body)
	var e *C.HmsError
	if C.hms_server_stream_send(s.ptr, ptr, n, &e) != 0 {
		return takeError(e)
	}
	return nil
}

// first reads the one request of a server-streaming call (InvalidArgument when none came).
func (s *ServerStream) first() (map[string]any, error) {
	return s.convs.value(s.firstBody())
}

// firstBody is first in the stream's format.
func (s *ServerStream) firstBody() ([]byte, error) {
	var msg C.HmsBytes
	var e *C.HmsError
	if C.hms_server_stream_recv_first(s.ptr, &msg, &e) != 0 {
		return nil, takeError(e)
	}
	return takeBytes(&msg), nil
}

// value decodes a message in the value format.
func (cs converters) value(body []byte, err error) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	var v map[string]any
	if err := decodeInto(body, &v, cs); err != nil {
		return nil, err
	}
	return v, nil
}

// takeBytes copies and frees a message hms-ffi returned.
func takeBytes(msg *C.HmsBytes) []byte {
	defer C.hms_bytes_free(msg)
	return C.GoBytes(unsafe.Pointer(msg.data), C.int(msg.len))
}

// streamRoute is a streaming handler as the C ABI calls it.
type streamRoute struct {
	fn    func(stream *ServerStream) error
	convs converters
}

// serve runs the handler and ends the call with its outcome; a panic is Internal.
func (r *streamRoute) serve(call *C.HmsCall, stream *C.HmsServerStream) {
	ctx, done := callContext(call)
	s := &ServerStream{ptr: stream, ctx: ctx, convs: r.convs}
	_, err := (&route{fn: func(context.Context, []byte) ([]byte, error) {
		return nil, r.fn(s)
	}}).run(ctx, nil)
	done()
	if err != nil {
		failCall(call, err)
		return
	}
	C.hms_call_end(call)
}

func (s *Server) registerStream(method string, fn func(stream *ServerStream) error) error {
	return s.registerStreamAs(method, C.HMS_FORMAT_VALUE, fn)
}

// registerStreamAs registers a streaming handler exchanging messages in format.
func (s *Server) registerStreamAs(method string, format C.HmsFormat, fn func(stream *ServerStream) error) error {
	return s.registerWith(method, &streamRoute{fn: fn, convs: s.convs}, func(cm *C.char, h cgo.Handle, e **C.HmsError) C.int32_t {
		return goServerHandleStream(s.ptr, cm, format, h, e)
	})
}

// HandleServerStream registers a handler for a server-streaming method: it gets the one
// request and sends its replies with send; returning ends the stream (with the error, if
// any, after the replies sent before it).
func (s *Server) HandleServerStream(method string, h func(ctx context.Context, req map[string]any, send func(map[string]any) error) error) error {
	return s.registerStream(method, func(stream *ServerStream) error {
		req, err := stream.first()
		if err != nil {
			return err
		}
		return h(stream.ctx, req, stream.Send)
	})
}

// HandleClientStream registers a handler for a client-streaming method: it ranges over the
// requests and returns the one reply.
func (s *Server) HandleClientStream(method string, h func(ctx context.Context, reqs iter.Seq2[map[string]any, error]) (map[string]any, error)) error {
	return s.registerStream(method, func(stream *ServerStream) error {
		reply, err := h(stream.ctx, stream.All())
		if err != nil {
			return err
		}
		return stream.Send(reply)
	})
}

// HandleBidiStream registers a handler for a bidirectional-streaming method, which reads and
// sends on stream as it likes (Recv and Send may run on two goroutines).
func (s *Server) HandleBidiStream(method string, h func(ctx context.Context, stream *ServerStream) error) error {
	return s.registerStream(method, func(stream *ServerStream) error {
		return h(stream.ctx, stream)
	})
}
