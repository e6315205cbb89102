package hmsffi_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/hms-ffi/hms-ffi/go/internal/conformance"
)

var counter atomic.Int64

// endpoints gives an inproc and a unix endpoint for a test.
func endpoints(t *testing.T) map[string]string {
	return map[string]string{
		"inproc": fmt.Sprintf("inproc://go-test-%d", counter.Add(1)),
		"unix":   "unix://" + filepath.Join(t.TempDir(), "go.sock"),
	}
}

// serve starts the Go conformance server on uri.
func serve(t *testing.T, uri string) *hmsffi.Server {
	t.Helper()
	srv, err := conformance.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen(uri); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return srv
}

func connect(t *testing.T, uri string) *hmsffi.Client {
	t.Helper()
	c, err := hmsffi.Connect(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Every shared vector: Go client -> Go server, over inproc and unix.
func TestConformance(t *testing.T) {
	cases, err := conformance.LoadCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 200 {
		t.Fatalf("only %d cases loaded", len(cases))
	}
	for transport, uri := range endpoints(t) {
		serve(t, uri)
		client := connect(t, uri)
		t.Run(transport, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.ID(), func(t *testing.T) {
					if why := conformance.Check(context.Background(), c, client); why != "" {
						t.Error(why)
					}
				})
			}
		})
	}
}
