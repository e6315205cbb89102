package main

// Run by scripts/test-dist/go.sh in a new module that got hms-ffi through `go get`: a call to
// the Rust greeter server at $HMS_GREETER, a typed error, a server stream, and an inproc call
// served by this program.

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

func TestInstalledCallsTheRustServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := hmsffi.Connect(ctx, os.Getenv("HMS_GREETER"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var reply map[string]any
	if err := client.Call(ctx, "demo.v1.Greeter/SayHello", map[string]any{"name": "Ada"}, &reply); err != nil {
		t.Fatal(err)
	}
	if reply["message"] == "" {
		t.Fatalf("empty reply %v", reply)
	}
	n := 0
	for _, err := range client.ServerStream(ctx, "demo.v1.Greeter/Chatter", map[string]any{"name": "Ada", "times": 3}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("Chatter gave %d replies, want 3", n)
	}
	err = client.Call(ctx, "demo.v1.Greeter/SayHello", map[string]any{"name": ""}, &reply)
	var e *hmsffi.Error
	if !errors.As(err, &e) || e.Code() != hmsffi.InvalidArgument {
		t.Fatalf("an empty name gave %v, want InvalidArgument", err)
	}
}

func TestInstalledServesInproc(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv, err := newServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(ctx)
	if _, err := srv.Listen("inproc://test-dist"); err != nil {
		t.Fatal(err)
	}
	client, err := hmsffi.Connect(ctx, "inproc://test-dist")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var reply map[string]any
	if err := client.Call(ctx, "demo.v1.Greeter/SayHello", map[string]any{"name": "Go"}, &reply); err != nil {
		t.Fatal(err)
	}
}
