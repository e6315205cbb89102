package hmsffi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"testing"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const protoStreams = `syntax = "proto3"; package typed.v1;
import "google/protobuf/wrappers.proto";
service Typed {
  rpc Count(google.protobuf.Int64Value) returns (stream google.protobuf.StringValue);
  rpc Sum(stream google.protobuf.Int64Value) returns (google.protobuf.Int64Value);
  rpc Upper(stream google.protobuf.StringValue) returns (stream google.protobuf.StringValue);
  rpc Forever(google.protobuf.Int64Value) returns (stream google.protobuf.StringValue);
}`

type (
	i64 = *wrapperspb.Int64Value
	str = *wrapperspb.StringValue
)

// typedServer serves typed.v1.Typed with the proto stream API, on inproc and unix.
func typedServer(t *testing.T) map[string]*hmsffi.Client {
	t.Helper()
	_, clients := typedServerOf(t)
	return clients
}

func typedServerOf(t *testing.T) (*hmsffi.Server, map[string]*hmsffi.Client) {
	t.Helper()
	srv := newTypedServer(t)
	clients := map[string]*hmsffi.Client{}
	for transport, uri := range endpoints(t) {
		if _, err := srv.Listen(uri); err != nil {
			t.Fatal(err)
		}
		clients[transport] = connect(t, uri)
	}
	return srv, clients
}

// newTypedServer is a server of typed.v1.Typed that does not listen yet.
func newTypedServer(t *testing.T) *hmsffi.Server {
	t.Helper()
	schema, err := hmsffi.SchemaFromSource("typed.proto", protoStreams)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hmsffi.NewServer(schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	must(t, hmsffi.HandleServerStreamProto(srv, "typed.v1.Typed/Count", func(ctx context.Context, req i64, send func(str) error) error {
		for i := range req.GetValue() {
			if i == 13 {
				return hmsffi.NewError(hmsffi.OutOfRange, "13 is unlucky")
			}
			if err := send(wrapperspb.String(fmt.Sprint(i))); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, hmsffi.HandleStreamProto(srv, "typed.v1.Typed/Sum", func(s *hmsffi.ProtoServerStream[i64, i64]) error {
		var total int64
		for {
			req, err := s.Recv()
			if err == io.EOF {
				return s.Send(wrapperspb.Int64(total))
			} else if err != nil {
				return err
			}
			total += req.GetValue()
		}
	}))
	must(t, hmsffi.HandleStreamProto(srv, "typed.v1.Typed/Upper", func(s *hmsffi.ProtoServerStream[str, str]) error {
		for {
			req, err := s.Recv()
			if err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := s.Send(wrapperspb.String("<" + req.GetValue() + ">")); err != nil {
				return err
			}
		}
	}))
	// Sends until the caller goes: its window fills, so only a cancellation ends it.
	must(t, hmsffi.HandleServerStreamProto(srv, "typed.v1.Typed/Forever", func(ctx context.Context, req i64, send func(str) error) error {
		for {
			if err := send(wrapperspb.String("more")); err != nil {
				return err
			}
		}
	}))
	return srv
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// The three kinds with generated types, both sides, over inproc and unix; an error after the
// replies sent before it.
func TestProtoStreams(t *testing.T) {
	for transport, client := range typedServer(t) {
		t.Run(transport, func(t *testing.T) {
			ctx, cancel := bounded()
			defer cancel()
			var got []string
			for reply, err := range hmsffi.ServerStreamProto[i64, str](ctx, client, "typed.v1.Typed/Count", wrapperspb.Int64(5)) {
				must(t, err)
				got = append(got, reply.GetValue())
			}
			if fmt.Sprint(got) != "[0 1 2 3 4]" {
				t.Fatalf("Count(5) gave %v", got)
			}

			n, last := 0, error(nil)
			for _, err := range hmsffi.ServerStreamProto[i64, str](ctx, client, "typed.v1.Typed/Count", wrapperspb.Int64(20)) {
				if err != nil {
					last = err
					break
				}
				n++
			}
			var e *hmsffi.Error
			if n != 13 || !errors.As(last, &e) || e.Code() != hmsffi.OutOfRange {
				t.Fatalf("Count(20) gave %d replies then %v, want 13 then OUT_OF_RANGE", n, last)
			}

			sum, err := hmsffi.OpenProtoStream[i64, i64](ctx, client, "typed.v1.Typed/Sum")
			must(t, err)
			for i := int64(1); i <= 100; i++ {
				must(t, sum.Send(wrapperspb.Int64(i)))
			}
			total, err := sum.CloseAndRecv()
			if err != nil || total.GetValue() != 5050 {
				t.Fatalf("Sum(1..100) = %v, %v", total, err)
			}

			up, err := hmsffi.OpenProtoStream[str, str](ctx, client, "typed.v1.Typed/Upper")
			must(t, err)
			for _, word := range []string{"a", "b", "c"} {
				must(t, up.Send(wrapperspb.String(word)))
				reply, err := up.Recv()
				if err != nil || reply.GetValue() != "<"+word+">" {
					t.Fatalf("Upper(%q) = %v, %v", word, reply, err)
				}
			}
			up.CloseSend()
			if _, err := up.Recv(); err != io.EOF {
				t.Fatalf("after CloseSend: %v, want io.EOF", err)
			}
		})
	}
}

// Breaking out of a typed stream cancels the call: the server's handler sees it and ends.
func TestProtoStreamBreakCancels(t *testing.T) {
	// No collection during the test: a dropped stream's finalizer also cancels its call, which
	// would let the test pass without the break doing it.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	srv, clients := typedServerOf(t)
	ctx, cancel := bounded()
	defer cancel()
	n := 0
	for _, err := range hmsffi.ServerStreamProto[i64, str](ctx, clients["unix"], "typed.v1.Typed/Forever", wrapperspb.Int64(0)) {
		must(t, err)
		if n++; n == 3 {
			break
		}
	}
	handlerEnds(t, srv)
}
