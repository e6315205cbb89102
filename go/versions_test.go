package hmsffi_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// Versions at connect from Go (issue 21, docs/evolution.md): a client built against v1 of a
// schema learns at connect which methods a v2 server breaks; the core refuses calls to them
// with FailedPrecondition (Reason INCOMPATIBLE_SCHEMA) and lets the others through.

const shopV1 = `syntax = "proto3";
package shop.v1;
message Item { int32 count = 1; }
message GetRequest { string id = 1; }
message ListRequest {}
service Shop { rpc Get(GetRequest) returns (Item); rpc List(ListRequest) returns (Item); }
`

// shopV2: GetRequest.id becomes an int64 (Get breaks), Item gains a field (List keeps working).
var shopV2 = strings.Replace(strings.Replace(shopV1, "string id = 1", "int64 id = 1", 1),
	"int32 count = 1;", "int32 count = 1; string name = 2;", 1)

func mustSchema(t *testing.T, source string) *hmsffi.Schema {
	t.Helper()
	s, err := hmsffi.SchemaFromSource("shop.proto", source)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAClientBuiltAgainstV1LearnsAtConnectWhatAV2ServerBreaks(t *testing.T) {
	srv, err := hmsffi.NewServer(mustSchema(t, shopV2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	var mu sync.Mutex
	var seen []string
	serve := func(name string, count int) func(context.Context, map[string]any) (map[string]any, error) {
		return func(context.Context, map[string]any) (map[string]any, error) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, name)
			return map[string]any{"count": count}, nil
		}
	}
	if err := srv.Handle("shop.v1.Shop/Get", serve("Get", 1)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Handle("shop.v1.Shop/List", serve("List", 2)); err != nil {
		t.Fatal(err)
	}
	uri, err := srv.Listen("unix://" + filepath.Join(t.TempDir(), "shop.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetSchemaVersion("shop.v1", 2); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := hmsffi.Connect(ctx, uri, hmsffi.WithExpectSchema(mustSchema(t, shopV1)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	announced := srv.SchemaVersion()
	if v := c.SchemaVersion(); v == nil || *v != announced || v.Subject != "shop.v1" || v.Version != 2 ||
		!strings.HasPrefix(v.Fingerprint, "sha256:") {
		t.Fatalf("client.SchemaVersion() = %+v, server's %+v", v, announced)
	}
	broken := c.IncompatibleMethods()
	if len(broken) != 1 || len(broken["shop.v1.Shop/Get"]) == 0 ||
		!strings.Contains(broken["shop.v1.Shop/Get"][0], "FIELD_WIRE_JSON_COMPATIBLE_TYPE") {
		t.Fatalf("IncompatibleMethods() = %v", broken)
	}
	_, err = call(ctx, c, "shop.v1.Shop/Get", map[string]any{"id": "7"})
	var e *hmsffi.Error
	if !errors.As(err, &e) || e.Code() != hmsffi.FailedPrecondition || e.Reason != "INCOMPATIBLE_SCHEMA" ||
		!strings.Contains(e.Message(), "FIELD_WIRE_JSON_COMPATIBLE_TYPE") {
		t.Fatalf("calling Get: %v, want FailedPrecondition INCOMPATIBLE_SCHEMA", err)
	}
	reply, err := call(ctx, c, "shop.v1.Shop/List", map[string]any{})
	if err != nil || reply["count"] != int64(2) {
		t.Fatalf("calling List: %v %v", reply, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(seen, []string{"List"}) {
		t.Fatalf("handlers run: %v", seen)
	}
}

func TestAClientGivenItsSchemaHasNoAnnouncedVersion(t *testing.T) {
	schema := mustSchema(t, shopV1)
	srv, err := hmsffi.NewServer(schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	uri, err := srv.Listen("inproc://go-versions-given")
	if err != nil {
		t.Fatal(err)
	}
	if v := srv.SchemaVersion(); v.Subject != "" || v.Version != 0 {
		t.Fatalf("server.SchemaVersion() before SetSchemaVersion = %+v", v)
	}
	c, err := hmsffi.Connect(context.Background(), uri, hmsffi.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v := c.SchemaVersion(); v != nil {
		t.Fatalf("client.SchemaVersion() = %+v, want nil", v)
	}
	if broken := c.IncompatibleMethods(); len(broken) != 0 {
		t.Fatalf("IncompatibleMethods() = %v", broken)
	}
}
