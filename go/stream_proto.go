package hmsffi

/*
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"iter"

	"google.golang.org/protobuf/proto"
)

// Streams with generated protobuf types (protoc-gen-go), as HandleProto is for unary calls:
// messages cross the C ABI as protobuf bytes, marshalled by Go's own proto package, with no
// map or CBOR step — the fast path for a stream of many messages. The stream rules (flow
// control, deadlines, cancellation, errors after the replies before them) are the same.

// ProtoStream is a client stream with typed requests and replies; see ClientStream.
type ProtoStream[Req, Resp proto.Message] struct {
	s *ClientStream
}

// OpenProtoStream opens a streaming call of method with typed messages; opts as for
// Client.Stream (WaitForReady applies to opening it).
func OpenProtoStream[Req, Resp proto.Message](ctx context.Context, c *Client, method string, opts ...CallOption) (*ProtoStream[Req, Resp], error) {
	s, err := c.openStream(ctx, method, C.HMS_FORMAT_PROTO, opts...)
	if err != nil {
		return nil, err
	}
	return &ProtoStream[Req, Resp]{s: s}, nil
}

// Send sends one request (see ClientStream.Send).
func (p *ProtoStream[Req, Resp]) Send(req Req) error {
	body, err := marshalMessage(req, InvalidArgument, "request")
	if err != nil {
		return err
	}
	return p.s.sendBody(body)
}

// CloseSend says no more requests will come.
func (p *ProtoStream[Req, Resp]) CloseSend() error { return p.s.CloseSend() }

// Cancel cancels the call.
func (p *ProtoStream[Req, Resp]) Cancel() { p.s.Cancel() }

// Header returns the response headers; Trailer the trailers (see ClientStream).
func (p *ProtoStream[Req, Resp]) Header() MD { return p.s.Header() }

// Trailer returns the response trailers, complete once Recv returned io.EOF or an error.
func (p *ProtoStream[Req, Resp]) Trailer() MD { return p.s.Trailer() }

// Recv returns the next reply, io.EOF at the end, or the call's error.
func (p *ProtoStream[Req, Resp]) Recv() (Resp, error) {
	return unmarshalAs[Resp](Internal, "reply")(p.s.recvBody())
}

// CloseAndRecv half-closes and returns the one reply of a client-streaming call.
func (p *ProtoStream[Req, Resp]) CloseAndRecv() (Resp, error) {
	return unmarshalAs[Resp](Internal, "reply")(p.s.closeAndRecvBody())
}

// All yields the replies until the end; an error ends it (yielded once). Stopping early
// cancels the call.
func (p *ProtoStream[Req, Resp]) All() iter.Seq2[Resp, error] {
	return replies(p.Recv, p.Cancel)
}

// ServerStreamProto calls a server-streaming method with a typed request and yields its typed
// replies; breaking out of the loop cancels the call. Of opts, WaitForReady applies (to
// opening the stream).
func ServerStreamProto[Req, Resp proto.Message](ctx context.Context, c *Client, method string, req Req, opts ...CallOption) iter.Seq2[Resp, error] {
	return func(yield func(Resp, error) bool) {
		p, err := OpenProtoStream[Req, Resp](ctx, c, method, opts...)
		if err == nil {
			err = p.Send(req)
		}
		if err != nil {
			var zero Resp
			yield(zero, err)
			return
		}
		p.CloseSend()
		p.All()(yield)
	}
}

// ProtoServerStream is the server side of a stream with typed messages; see ServerStream.
type ProtoServerStream[Req, Resp proto.Message] struct {
	s *ServerStream
}

// Context is the call's context.
func (p *ProtoServerStream[Req, Resp]) Context() context.Context { return p.s.ctx }

// Recv returns the next request, io.EOF once the client has half-closed.
func (p *ProtoServerStream[Req, Resp]) Recv() (Req, error) {
	return unmarshalAs[Req](InvalidArgument, "request")(p.s.recvBody())
}

// Send sends one reply (flow control as ServerStream.Send).
func (p *ProtoServerStream[Req, Resp]) Send(reply Resp) error {
	body, err := marshalMessage(reply, Internal, "reply")
	if err != nil {
		return err
	}
	return p.s.sendBody(body)
}

// HandleStreamProto registers a handler for a streaming method of any kind with typed
// messages: a server-streaming handler calls Recv once and Send for each reply, a
// client-streaming one Recv until io.EOF and Send once, a bidi one as it likes. Returning
// ends the stream (with the error, if any, after the replies sent before it).
func HandleStreamProto[Req, Resp proto.Message](s *Server, method string, h func(stream *ProtoServerStream[Req, Resp]) error) error {
	return s.registerStreamAs(method, C.HMS_FORMAT_PROTO, func(stream *ServerStream) error {
		return h(&ProtoServerStream[Req, Resp]{s: stream})
	})
}

// HandleServerStreamProto registers a server-streaming handler with typed messages: it gets
// the one request and sends its replies with send.
func HandleServerStreamProto[Req, Resp proto.Message](s *Server, method string, h func(ctx context.Context, req Req, send func(Resp) error) error) error {
	return s.registerStreamAs(method, C.HMS_FORMAT_PROTO, func(stream *ServerStream) error {
		req, err := unmarshalAs[Req](InvalidArgument, "request")(stream.firstBody())
		if err != nil {
			return err
		}
		return h(stream.ctx, req, (&ProtoServerStream[Req, Resp]{s: stream}).Send)
	})
}

// marshalMessage is proto.Marshal with its failure as an *Error of code.
func marshalMessage(m proto.Message, code Code, what string) ([]byte, error) {
	body, err := proto.Marshal(m)
	if err != nil {
		return nil, NewError(code, "cannot marshal "+what+": "+err.Error())
	}
	return body, nil
}

// unmarshalAs makes a new T from protobuf bytes (or passes err on). Bytes that do not decode
// are code: InvalidArgument for a request (as HandleProto says), Internal for a reply.
func unmarshalAs[T proto.Message](code Code, what string) func([]byte, error) (T, error) {
	return func(body []byte, err error) (T, error) {
		var zero T
		if err != nil {
			return zero, err
		}
		m := zero.ProtoReflect().New().Interface().(T)
		if err := proto.Unmarshal(body, m); err != nil {
			return zero, NewError(code, "undecodable "+what+": "+err.Error())
		}
		return m, nil
	}
}
