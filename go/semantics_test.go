package hmsffi_test

import (
	"context"
	"errors"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/hms-ffi/hms-ffi/go/internal/conformance"
)

// Every call-semantics case: Go client -> Go server, over inproc and unix; a case is skipped
// only with its written reason in tests/conformance/semantics/skips.json.
func TestSemantics(t *testing.T) {
	cases, err := conformance.LoadSemantics()
	if err != nil || len(cases) < 10 {
		t.Fatalf("%d cases: %v", len(cases), err)
	}
	skips := map[string]string{}
	for _, role := range []string{"client", "server"} {
		s, err := conformance.Skips("go", role)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range s {
			skips[k] = role + ": " + v
		}
	}
	for transport, uri := range endpoints(t) {
		serve(t, uri)
		client := connect(t, uri)
		t.Run(transport, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					if reason, ok := skips[c.Name]; ok {
						t.Skip(reason)
					}
					if why := conformance.CheckSemantics(c, client, uri); why != "" {
						t.Error(why)
					}
				})
			}
		})
	}
}

// A handler reads its call (method, metadata, trace id, deadline, identity, peer credentials)
// and sets response headers and trailers, which the client reads with Header/Trailer, with a
// reply and with an error.
func TestCallInfoAndResponseMetadata(t *testing.T) {
	schema, err := hmsffi.LoadSchema(conformance.Proto())
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := hmsffi.NewServer(schema)
	defer srv.Shutdown(context.Background())
	type seen struct {
		method, user, trace, identity string
		deadline, creds, cert         bool
		reserved                      error
	}
	got := make(chan seen, 1)
	err = srv.Handle(echo, func(ctx context.Context, req map[string]any) (map[string]any, error) {
		info, _ := hmsffi.CallInfoFromContext(ctx)
		_, deadline := ctx.Deadline()
		_, creds := info.PeerCredentials()
		_, cert := info.PeerCertificate()
		reserved := hmsffi.SetHeader(ctx, "grpc-status", "0")
		got <- seen{info.Method(), info.Metadata().Get("x-user"), info.TraceID(), info.Identity(), deadline, creds, cert, reserved}
		if err := hmsffi.SetHeader(ctx, "x-h", "head"); err != nil {
			return nil, err
		}
		if err := hmsffi.SetTrailer(ctx, "x-t", "tail"); err != nil {
			return nil, err
		}
		if tags, _ := req["tags"].([]any); len(tags) > 0 && tags[0] == "fail" {
			return nil, hmsffi.NewError(hmsffi.NotFound, "no such thing")
		}
		return req, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	uri, err := srv.Listen("unix://" + t.TempDir() + "/md.sock")
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, uri)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx = hmsffi.WithMetadata(ctx, map[string]string{"x-user": "ada", "x-trace-id": "4bf92f3577b34da6a3ce929d0e0e4736"})
	var reply map[string]any
	var headers, trailers hmsffi.MD
	if err := c.Call(ctx, echo, map[string]any{"tags": []any{"ok"}}, &reply, hmsffi.Header(&headers), hmsffi.Trailer(&trailers)); err != nil {
		t.Fatal(err)
	}
	s := <-got
	if s.method != echo || s.user != "ada" || s.trace != "4bf92f3577b34da6a3ce929d0e0e4736" || !s.deadline || !s.creds || s.cert || s.identity == "" {
		t.Errorf("handler saw %+v", s)
	}
	if hmsffi.CodeOf(s.reserved) != hmsffi.InvalidArgument {
		t.Errorf("a reserved header key gave %v", s.reserved)
	}
	if headers.Get("x-h") != "head" || trailers.Get("x-t") != "tail" {
		t.Errorf("headers %v trailers %v", headers, trailers)
	}
	err = c.Call(ctx, echo, map[string]any{"tags": []any{"fail"}}, &reply, hmsffi.Trailer(&trailers))
	<-got
	var e *hmsffi.Error
	if !errors.As(err, &e) || e.Code() != hmsffi.NotFound {
		t.Fatalf("got %v", err)
	}
	if e.Trailers.Get("x-t") != "tail" || trailers.Get("x-t") != "tail" {
		t.Errorf("an error's trailers: %v / %v", e.Trailers, trailers)
	}
}

// A closed client's calls end with CANCELLED, as on every transport.
func TestCloseThenCallIsCancelled(t *testing.T) {
	for transport, uri := range endpoints(t) {
		serve(t, uri)
		c := connect(t, uri)
		c.Close()
		var reply map[string]any
		err := c.Call(context.Background(), echo, map[string]any{}, &reply)
		var e *hmsffi.Error
		if !errors.As(err, &e) || e.Code() != hmsffi.Canceled {
			t.Errorf("%s: got %v", transport, err)
		}
	}
}
