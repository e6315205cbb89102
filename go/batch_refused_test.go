package hmsffi_test

// Batch hands the core every call, one whose request does not convert as that call's error
// (hms_client_batch's refused): the core counts it towards the 100 000-call limit, keeps it in
// its place with its error (the field path of a failed converter too) and never sends it, while
// the others are. Each result also carries its call's response headers and trailers.

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/hms-ffi/hms-ffi/go/internal/conformance"
)

// 100 000 calls that would be sent and one whose request does not convert are 100 001 calls:
// refused whole, before anything is sent (the refused call is not left out of the count; when it
// was, the other 100 000 went out).
func TestBatchRefusedCallCountsTowardsTheLimit(t *testing.T) {
	client := batchClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	calls := echoCalls(100001)
	calls[50000] = hmsffi.BatchCall{Method: batchEcho, Request: map[string]any{"string_v": make(chan int)}}
	results, err := client.Batch(ctx, calls)
	if code := codeOf(t, err); code != hmsffi.InvalidArgument || results != nil {
		t.Fatalf("%v, %d results", err, len(results))
	}
	if !strings.Contains(err.Error(), "100001") {
		t.Errorf("the count is every call's: %v", err)
	}
}

// A refused call keeps its place and its error — a failed converter's field path, a
// proto.Message's InvalidArgument — while the calls around it are sent and answered.
func TestBatchRefusedCallKeepsItsPlaceAndPath(t *testing.T) {
	uri := endpoints(t)["unix"]
	seen := make(chan map[string]any, 8)
	shopServer(t, uri, seen)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := hmsffi.Connect(ctx, uri, hmsffi.WithConverters(shopConverters...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bad := shopOrder()
	bad["items"].([]any)[1].(map[string]any)["price"] = big.NewRat(-1, 2)
	results, err := c.Batch(ctx, []hmsffi.BatchCall{
		{Method: "shop.v1.Shop/Echo", Request: shopOrder()},
		{Method: "shop.v1.Shop/Echo", Request: bad},
		{Method: "shop.v1.Shop/Echo", Request: shopOrder()},
		{Method: "shop.v1.Shop/Echo", Request: &emptypb.Empty{}},
	})
	if err != nil || len(results) != 4 {
		t.Fatalf("%v, %d results", err, len(results))
	}
	for _, i := range []int{0, 2} {
		if results[i].Err != nil || results[i].Reply["id"] != id {
			t.Errorf("entry %d: %v %v", i, results[i].Reply, results[i].Err)
		}
	}
	var e *hmsffi.Error
	if !errors.As(results[1].Err, &e) || e.Code() != hmsffi.InvalidArgument || len(e.FieldViolations) != 1 {
		t.Fatalf("entry 1: %v", results[1].Err)
	}
	if v := e.FieldViolations[0]; v.Field != "items[1].price" || !strings.Contains(v.Description, "no negative prices") {
		t.Errorf("entry 1's violation: %+v", v)
	}
	if code := codeOf(t, results[3].Err); code != hmsffi.InvalidArgument || results[3].Reply != nil {
		t.Errorf("entry 3: %v", results[3].Err)
	}
	if n := len(seen); n != 2 {
		t.Errorf("the server saw %d calls, want the 2 that converted", n)
	}
}

// Each result holds its call's response headers and trailers, with a reply or with an error.
func TestBatchResultsCarryResponseMetadata(t *testing.T) {
	client := batchClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	method := conformance.SemService + "/Context"
	results, err := client.Batch(ctx, []hmsffi.BatchCall{
		{Method: method, Request: map[string]any{
			"set_headers": map[string]any{"x-h": "one"}, "set_trailers": map[string]any{"x-t": "two"}}},
		{Method: method, Request: map[string]any{
			"set_trailers": map[string]any{"x-t": "three"}, "fail_code": "NOT_FOUND", "fail_message": "gone"}},
		{Method: batchEcho, Request: map[string]any{}},
	})
	if err != nil || len(results) != 3 {
		t.Fatalf("%v, %d results", err, len(results))
	}
	if r := results[0]; r.Err != nil || r.Header.Get("x-h") != "one" || r.Trailer.Get("x-t") != "two" {
		t.Errorf("entry 0: %v %v %v", r.Header, r.Trailer, r.Err)
	}
	if r := results[1]; codeOf(t, r.Err) != hmsffi.NotFound || r.Trailer.Get("x-t") != "three" {
		t.Errorf("entry 1: %v %v", r.Trailer, r.Err)
	}
	if r := results[2]; r.Err != nil || r.Header.Get("x-h") != "" || r.Trailer.Get("x-t") != "" {
		t.Errorf("entry 2: %v %v %v", r.Header, r.Trailer, r.Err)
	}
}
