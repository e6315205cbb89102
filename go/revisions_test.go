package hmsffi_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// Two revisions of one package served side by side from Go (docs/evolution.md, "Two versions
// side by side"): a call chooses its revision at connect or with the hms-schema-revision
// metadata entry, and a v1 handler serves v2 callers through a bridge.

const acmeRev1 = `syntax = "proto3";
package acme.v1;
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
`

// acmeRev2 renames the fields (the same numbers) and adds one to each message.
const acmeRev2 = `syntax = "proto3";
package acme.v1;
message HelloRequest { string full_name = 1; string locale = 2; }
message HelloReply { string text = 1; int32 length = 2; }
service Greeter { rpc SayHello(HelloRequest) returns (HelloReply); }
`

const sayHello = "acme.v1.Greeter/SayHello"

func acme(t *testing.T, source string) *hmsffi.Schema {
	t.Helper()
	s, err := hmsffi.SchemaFromSource("acme/v1/greeter.proto", source)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func v1Hello(_ context.Context, req map[string]any) (map[string]any, error) {
	return map[string]any{"message": "v1 " + req["name"].(string)}, nil
}

// twoRevisions serves revision 2 as the main schema and revision 1 beside it, each with its
// handler; it returns the server's URI and revision 1's fingerprint.
func twoRevisions(t *testing.T) (*hmsffi.Server, string, string) {
	srv, err := hmsffi.NewServer(acme(t, acmeRev2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	err = srv.Handle(sayHello, func(_ context.Context, req map[string]any) (map[string]any, error) {
		return map[string]any{"text": "v2 " + req["full_name"].(string) + " " + req["locale"].(string)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fingerprint, err := srv.AddRevision("rev1", acme(t, acmeRev1))
	if err != nil || !strings.HasPrefix(fingerprint, "sha256:") {
		t.Fatalf("AddRevision: %q %v", fingerprint, err)
	}
	rev1, err := srv.Revision("rev1")
	if err != nil {
		t.Fatal(err)
	}
	if err := rev1.Handle(sayHello, v1Hello); err != nil {
		t.Fatal(err)
	}
	uri, err := srv.Listen("unix://" + filepath.Join(t.TempDir(), "rev.sock"))
	if err != nil {
		t.Fatal(err)
	}
	return srv, uri, fingerprint
}

func wantCode(t *testing.T, err error, code hmsffi.Code, reason string) *hmsffi.Error {
	t.Helper()
	var e *hmsffi.Error
	if !errors.As(err, &e) || e.Code() != code || (reason != "" && e.Reason != reason) {
		t.Fatalf("got %v, want %v %s", err, code, reason)
	}
	return e
}

func TestAClientChoosesItsRevisionAtConnect(t *testing.T) {
	srv, uri, fingerprint := twoRevisions(t)
	if r := srv.Revisions(); r["rev1"] != fingerprint || len(r) != 1 {
		t.Fatalf("server.Revisions() = %v", r)
	}
	ctx := context.Background()
	main, err := hmsffi.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer main.Close()
	if main.Revision() != "" || main.Revisions()["rev1"] != fingerprint {
		t.Fatalf("main client: revision %q, revisions %v", main.Revision(), main.Revisions())
	}
	reply, err := call(ctx, main, sayHello, map[string]any{"full_name": "Ada", "locale": "en"})
	if err != nil || reply["text"] != "v2 Ada en" {
		t.Fatalf("main schema: %v %v", reply, err)
	}
	for _, opt := range []hmsffi.ConnectOption{hmsffi.WithRevision("rev1"), hmsffi.WithExpectSchema(acme(t, acmeRev1))} {
		c, err := hmsffi.Connect(ctx, uri, opt)
		if err != nil {
			t.Fatal(err)
		}
		if c.Revision() != fingerprint || len(c.IncompatibleMethods()) != 0 {
			t.Fatalf("revision %q, incompatible %v", c.Revision(), c.IncompatibleMethods())
		}
		reply, err := call(ctx, c, sayHello, map[string]any{"name": "Ada"})
		if err != nil || reply["message"] != "v1 Ada" {
			t.Fatalf("revision 1: %v %v", reply, err)
		}
		c.Close()
	}
	_, err = hmsffi.Connect(ctx, uri, hmsffi.WithRevision("rev9"))
	wantCode(t, err, hmsffi.FailedPrecondition, "UNKNOWN_SCHEMA_REVISION")
}

func TestACallChoosesItsRevisionWithMetadata(t *testing.T) {
	srv, uri, fingerprint := twoRevisions(t)
	ctx := context.Background()
	c, err := hmsffi.Connect(ctx, uri, hmsffi.WithSchema(acme(t, acmeRev1)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, key := range []string{"rev1", fingerprint} {
		md := hmsffi.WithMetadata(ctx, map[string]string{hmsffi.SchemaRevisionKey: key})
		reply, err := call(md, c, sayHello, map[string]any{"name": "Ada"})
		if err != nil || reply["message"] != "v1 Ada" {
			t.Fatalf("revision %s: %v %v", key, reply, err)
		}
	}
	md := hmsffi.WithMetadata(ctx, map[string]string{hmsffi.SchemaRevisionKey: "rev9"})
	_, err = call(md, c, sayHello, map[string]any{"name": "Ada"})
	if e := wantCode(t, err, hmsffi.FailedPrecondition, "UNKNOWN_SCHEMA_REVISION"); !strings.Contains(e.Message(), "rev1 sha256:") {
		t.Fatalf("message %q names no revision served", e.Message())
	}
	_, err = srv.AddRevision("rev1", acme(t, acmeRev1))
	wantCode(t, err, hmsffi.AlreadyExists, "")
	_, err = srv.Revision("nope")
	wantCode(t, err, hmsffi.NotFound, "")
}

func TestAV1HandlerServesV2CallersThroughABridge(t *testing.T) {
	srv, err := hmsffi.NewServer(acme(t, acmeRev2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	for label, source := range map[string]string{"rev1": acmeRev1, "broken": strings.Replace(acmeRev1, "string name = 1", "double name = 1", 1)} {
		if _, err := srv.AddRevision(label, acme(t, source)); err != nil {
			t.Fatal(err)
		}
		rev, err := srv.Revision(label)
		if err != nil {
			t.Fatal(err)
		}
		if err := rev.Handle(sayHello, v1Hello); err != nil {
			t.Fatal(err)
		}
	}
	e := wantCode(t, srv.Bridge("broken", sayHello), hmsffi.FailedPrecondition, "INCOMPATIBLE_SCHEMA")
	if !strings.Contains(e.Message(), "FIELD_WIRE_COMPATIBLE_TYPE") {
		t.Fatalf("bridge refused with %q", e.Message())
	}
	if err := srv.Bridge("rev1", sayHello); err != nil {
		t.Fatal(err)
	}
	uri, err := srv.Listen("inproc://go-revisions-bridge")
	if err != nil {
		t.Fatal(err)
	}
	c, err := hmsffi.Connect(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The renamed field reaches the v1 handler by number; the added one is dropped.
	reply, err := call(context.Background(), c, sayHello, map[string]any{"full_name": "Ada", "locale": "en"})
	if err != nil || reply["text"] != "v1 Ada" {
		t.Fatalf("bridged call: %v %v", reply, err)
	}
}
