package hmsffi_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/hms-ffi/hms-ffi/go/internal/conformance"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// WaitForReady on the stream helpers (issue 23): while the client has no connection, a stream
// opened without it fails Unavailable at once; with it, opening waits for the server that
// listens later (the option reaches hms_client_open_stream_with_options).

// outage connects a client with a quick reconnect to the server newServer makes on a fresh
// socket. down stops a server and waits until the client saw its connection go (a call
// written just before could not know); later makes a new server that listens 300 ms after.
func outage(t *testing.T, newServer func() *hmsffi.Server) (c *hmsffi.Client, down func(*hmsffi.Server), later func() <-chan error) {
	t.Helper()
	uri := "unix://" + filepath.Join(t.TempDir(), "ready.sock")
	first := newServer()
	if _, err := first.Listen(uri); err != nil {
		t.Fatal(err)
	}
	fast := `{"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}}`
	c, err := hmsffi.Connect(context.Background(), uri, hmsffi.WithResilience(fast))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	down = func(srv *hmsffi.Server) {
		srv.Shutdown(context.Background())
		for i := 0; i < 500 && c.State() == "ready"; i++ {
			time.Sleep(10 * time.Millisecond)
		}
	}
	later = func() <-chan error {
		srv, listened := newServer(), make(chan error, 1)
		go func() {
			time.Sleep(300 * time.Millisecond)
			_, err := srv.Listen(uri)
			listened <- err
		}()
		t.Cleanup(func() { srv.Shutdown(context.Background()) })
		return listened
	}
	down(first)
	return c, down, later
}

// upThen waits until the server started by later listened.
func upThen(t *testing.T, listened <-chan error, step string) {
	t.Helper()
	select {
	case err := <-listened:
		if err != nil {
			t.Fatalf("%s: listen: %v", step, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the server did not listen", step)
	}
}

func TestProtoStreamHelpersWaitForReady(t *testing.T) {
	var last *hmsffi.Server
	c, down, later := outage(t, func() *hmsffi.Server { last = newTypedServer(t); return last })
	ctx, cancel := bounded()
	defer cancel()
	for _, err := range hmsffi.ServerStreamProto[i64, str](ctx, c, "typed.v1.Typed/Count", wrapperspb.Int64(2)) {
		if hmsffi.CodeOf(err) != hmsffi.Unavailable {
			t.Fatalf("without WaitForReady and no server: %v", err)
		}
	}
	listened := later()
	var got []string
	for reply, err := range hmsffi.ServerStreamProto[i64, str](ctx, c, "typed.v1.Typed/Count", wrapperspb.Int64(2), hmsffi.WaitForReady(true)) {
		must(t, err)
		got = append(got, reply.GetValue())
	}
	upThen(t, listened, "ServerStreamProto")
	if fmt.Sprint(got) != "[0 1]" {
		t.Fatalf("ServerStreamProto waiting for ready gave %v", got)
	}
	down(last)
	listened = later()
	p, err := hmsffi.OpenProtoStream[i64, i64](ctx, c, "typed.v1.Typed/Sum", hmsffi.WaitForReady(true))
	must(t, err)
	must(t, p.Send(wrapperspb.Int64(1)))
	must(t, p.Send(wrapperspb.Int64(2)))
	sum, err := p.CloseAndRecv()
	upThen(t, listened, "OpenProtoStream")
	if err != nil || sum.GetValue() != 3 {
		t.Fatalf("OpenProtoStream waiting for ready: %v %v", sum, err)
	}
}

func TestStreamHelpersWaitForReady(t *testing.T) {
	var last *hmsffi.Server
	c, down, later := outage(t, func() *hmsffi.Server {
		srv, err := conformance.NewServer()
		must(t, err)
		last = srv
		return srv
	})
	ctx, cancel := bounded()
	defer cancel()
	req := map[string]any{"counts": map[string]any{"repeat": int64(2)}}
	method := conformance.Service + "/ServerStream"
	for _, err := range c.ServerStream(ctx, method, req) {
		if hmsffi.CodeOf(err) != hmsffi.Unavailable {
			t.Fatalf("without WaitForReady and no server: %v", err)
		}
	}
	listened := later()
	n := 0
	for _, err := range c.ServerStream(ctx, method, req, hmsffi.WaitForReady(true)) {
		must(t, err)
		n++
	}
	upThen(t, listened, "ServerStream")
	if n != 2 {
		t.Fatalf("ServerStream waiting for ready gave %d replies", n)
	}
	down(last)
	listened = later()
	reqs := func(yield func(map[string]any) bool) {
		for i := range 3 {
			if !yield(map[string]any{"unicode_text": "r", "wrapped_int": int64(i)}) {
				return
			}
		}
	}
	reply, err := c.ClientStream(ctx, conformance.Service+"/ClientStream", reqs, hmsffi.WaitForReady(true))
	upThen(t, listened, "ClientStream")
	if err != nil || reply["weight_mg"] != int64(3) {
		t.Fatalf("ClientStream waiting for ready: %v %v", reply, err)
	}
}
