package hmsffi_test

import (
	"context"
	"errors"
	"io"
	"runtime/debug"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/hms-ffi/hms-ffi/go/internal/conformance"
)

// Every streaming vector: Go client -> Go server, over inproc and unix.
func TestStreamVectors(t *testing.T) {
	cases, err := conformance.LoadStreamCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 16 {
		t.Fatalf("only %d streaming cases loaded", len(cases))
	}
	for transport, uri := range endpoints(t) {
		serve(t, uri)
		client := connect(t, uri)
		t.Run(transport, func(t *testing.T) {
			if !conformance.ServerStreams(client) {
				t.Fatal("the Go server does not serve streams")
			}
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					if why := conformance.CheckStream(c, client); why != "" {
						t.Error(why)
					}
				})
			}
		})
	}
}

func slowStream(t *testing.T) (*hmsffi.Server, *hmsffi.Client, map[string]any) {
	uri := endpoints(t)["unix"]
	srv := serve(t, uri)
	req := map[string]any{"counts": map[string]any{"repeat": int64(1000), "sleep_ms": int64(20)}}
	return srv, connect(t, uri), req
}

// bounded is a context for one test's calls: no wait in these tests outlasts it.
func bounded() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// handlerEnds waits until the server has no call in flight: its handler saw the cancellation.
func handlerEnds(t *testing.T, srv *hmsffi.Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Inflight() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server's handler still runs after the caller went")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Cancelling the context ends a Recv waiting on the server promptly, with the context's error,
// and the server's handler sees it (its Inflight drops to zero).
func TestStreamContextCancel(t *testing.T) {
	srv, client, req := slowStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := 0
	var got error
	started := time.Now()
	for _, err := range client.ServerStream(ctx, conformance.Service+"/ServerStream", req) {
		if err != nil {
			got = err
			break
		}
		if n++; n == 2 {
			cancel()
		}
	}
	if hmsffi.CodeOf(got) != hmsffi.Canceled || time.Since(started) > 5*time.Second {
		t.Fatalf("got %v after %v, expected a prompt Canceled", got, time.Since(started))
	}
	handlerEnds(t, srv)
}

// A deadline on the context bounds the whole stream.
func TestStreamDeadline(t *testing.T) {
	_, client, req := slowStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var got error
	for _, err := range client.ServerStream(ctx, conformance.Service+"/ServerStream", req) {
		if err != nil {
			got = err
		}
	}
	if !errors.Is(got, context.DeadlineExceeded) && hmsffi.CodeOf(got) != hmsffi.DeadlineExceeded {
		t.Fatalf("got %v, expected DeadlineExceeded", got)
	}
}

// Breaking out of a range over the replies cancels the call.
func TestStreamBreakCancels(t *testing.T) {
	// No collection during the test: a dropped stream's finalizer would cancel it too.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	srv, client, req := slowStream(t)
	n := 0
	ctx, cancel := bounded()
	defer cancel()
	for range client.ServerStream(ctx, conformance.Service+"/ServerStream", req) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("%d replies before the break", n)
	}
	handlerEnds(t, srv)
}

// ClientStream sends from an iterator and returns the one reply; CloseAndRecv refuses a
// unary-shaped misuse with the core's error; a unary method cannot be opened as a stream.
func TestClientStreamHelpers(t *testing.T) {
	uri := endpoints(t)["inproc"]
	serve(t, uri)
	client := connect(t, uri)
	reqs := func(yield func(map[string]any) bool) {
		for i := range 5 {
			if !yield(map[string]any{"unicode_text": "r", "wrapped_int": int64(i)}) {
				return
			}
		}
	}
	ctx, cancel := bounded()
	defer cancel()
	reply, err := client.ClientStream(ctx, conformance.Service+"/ClientStream", reqs)
	if err != nil || reply["weight_mg"] != int64(5) {
		t.Fatalf("reply %v, err %v", reply, err)
	}
	_, err = client.Stream(ctx, conformance.Service+"/Echo")
	if hmsffi.CodeOf(err) != hmsffi.FailedPrecondition {
		t.Fatalf("opening a unary method as a stream: %v", err)
	}
	s, err := client.Stream(ctx, conformance.Service+"/ServerStream")
	if err != nil {
		t.Fatal(err)
	}
	s.Send(map[string]any{"counts": map[string]any{"repeat": int64(2)}})
	if _, err := s.CloseAndRecv(); hmsffi.CodeOf(err) != hmsffi.Internal {
		t.Fatalf("two replies read as one: %v", err)
	}
	if err := s.Send(map[string]any{}); hmsffi.CodeOf(err) == hmsffi.OK {
		t.Fatal("a send after the end and a cancel succeeded")
	}
	if _, err := s.Recv(); err == io.EOF || err == nil {
		t.Fatalf("a read after a cancel: %v", err)
	}
}

// A handler's SendHeader sends its headers ahead of any reply: the handler waits until the
// client has seen them (or 10 s) before its first reply.
func TestSendHeaderBeforeAnyReply(t *testing.T) {
	schema, err := hmsffi.LoadSchema(conformance.Proto())
	if err != nil {
		t.Fatal(err)
	}
	for transport, uri := range endpoints(t) {
		t.Run(transport, func(t *testing.T) {
			srv, _ := hmsffi.NewServer(schema)
			defer srv.Shutdown(context.Background())
			seen := make(chan struct{})
			late := make(chan error, 1)
			err := srv.HandleServerStream(conformance.Service+"/ServerStream", func(ctx context.Context, req map[string]any, send func(map[string]any) error) error {
				if err := hmsffi.SetHeader(ctx, "x-early", "yes"); err != nil {
					return err
				}
				if err := hmsffi.SendHeader(ctx); err != nil {
					return err
				}
				if err := hmsffi.SendHeader(ctx); err != nil {
					return err
				}
				late <- hmsffi.SetHeader(ctx, "x-late", "1")
				select {
				case <-seen:
				case <-time.After(10 * time.Second):
				}
				return send(req)
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Listen(uri); err != nil {
				t.Fatal(err)
			}
			client := connect(t, uri)
			ctx, cancel := bounded()
			defer cancel()
			s, err := client.Stream(ctx, conformance.Service+"/ServerStream")
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(map[string]any{"unicode_text": "a"}); err != nil {
				t.Fatal(err)
			}
			if err := s.CloseSend(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for s.Header().Get("x-early") == "" && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if h := s.Header(); h.Get("x-early") != "yes" || h.Get("x-late") != "" {
				t.Fatalf("headers before a reply: %v", h)
			}
			close(seen)
			reply, err := s.Recv()
			if err != nil || reply["unicode_text"] != "a" {
				t.Fatalf("reply %v, err %v", reply, err)
			}
			if _, err := s.Recv(); err != io.EOF {
				t.Fatalf("after the reply: %v", err)
			}
			if err := <-late; hmsffi.CodeOf(err) != hmsffi.FailedPrecondition {
				t.Fatalf("a header after SendHeader: %v", err)
			}
		})
	}
}
