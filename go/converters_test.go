package hmsffi_test

// Custom domain types (docs/converters.md): converters of the caller and of the handler, on
// requests and replies, over inproc and unix; a converter that fails is InvalidArgument with the
// value's path (Internal for a handler's reply).

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

const shopProto = `syntax = "proto3";
package shop.v1;
import "google/type/decimal.proto";
import "hms/ffi/v1/options.proto";
message Item { string sku = 1; google.type.Decimal price = 2; }
message Order {
  string id = 1 [(hms.ffi.v1.format) = "uuid"];
  repeated Item items = 2;
  map<string, google.type.Decimal> rates = 3;
  repeated string refs = 4 [(hms.ffi.v1.format) = "uuid"];
}
service Shop { rpc Echo(Order) returns (Order); rpc Bad(Order) returns (Order); }`

// UUID is a UUID of the test's own, kept as its text.
type UUID string

var uuidText = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

var shopConverters = []hmsffi.Converter{
	{
		Message: "google.type.Decimal",
		Type:    reflect.TypeOf(&big.Rat{}),
		ToMessage: func(v any) (any, error) {
			r := v.(*big.Rat)
			if r.Sign() < 0 {
				return nil, errors.New("no negative prices here")
			}
			return map[string]any{"value": r.FloatString(2)}, nil
		},
		FromMessage: func(m any) (any, error) {
			r, ok := new(big.Rat).SetString(m.(map[string]any)["value"].(string))
			if !ok {
				return nil, fmt.Errorf("not a decimal: %v", m)
			}
			return r, nil
		},
	},
	{
		Format:    "uuid",
		Type:      reflect.TypeOf(UUID("")),
		ToMessage: func(v any) (any, error) { return string(v.(UUID)), nil },
		FromMessage: func(m any) (any, error) {
			if !uuidText.MatchString(m.(string)) {
				return nil, fmt.Errorf("not a uuid: %q", m)
			}
			return UUID(m.(string)), nil
		},
	},
}

const (
	id  = UUID("6f1c1a52-3f0e-4d8e-9a43-1f2b6c7d8e9f")
	ref = UUID("00000000-0000-4000-8000-000000000001")
)

func shopOrder() map[string]any {
	return map[string]any{
		"id":    id,
		"items": []any{map[string]any{"sku": "a", "price": big.NewRat(3, 2)}, map[string]any{"sku": "b", "price": big.NewRat(2, 1)}},
		"rates": map[string]any{"eur": big.NewRat(1, 1)},
		"refs":  []any{ref, id},
	}
}

func shopServer(t *testing.T, uri string, seen chan<- map[string]any) {
	t.Helper()
	schema, err := hmsffi.SchemaFromSource("shop.proto", shopProto)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hmsffi.NewServer(schema, hmsffi.WithServerConverters(shopConverters...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	_ = srv.Handle("shop.v1.Shop/Echo", func(_ context.Context, req map[string]any) (map[string]any, error) {
		select {
		case seen <- req:
		default:
		}
		return req, nil
	})
	_ = srv.Handle("shop.v1.Shop/Bad", func(_ context.Context, req map[string]any) (map[string]any, error) {
		return map[string]any{"items": []any{map[string]any{}, map[string]any{"price": big.NewRat(-1, 1)}}}, nil
	})
	if _, err := srv.Listen(uri); err != nil {
		t.Fatal(err)
	}
}

// same compares orders whose decimals are *big.Rat.
func same(a, b any) bool {
	if x, ok := a.(*big.Rat); ok {
		y, ok := b.(*big.Rat)
		return ok && x.Cmp(y) == 0
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !same(x[k], y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !same(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func TestConvertersRoundTripBothWays(t *testing.T) {
	for transport, uri := range endpoints(t) {
		seen := make(chan map[string]any, 1)
		shopServer(t, uri, seen)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := hmsffi.Connect(ctx, uri, hmsffi.WithConverters(shopConverters...))
		if err != nil {
			t.Fatal(err)
		}
		var reply map[string]any
		if err := c.Call(ctx, "shop.v1.Shop/Echo", shopOrder(), &reply); err != nil {
			t.Fatalf("%s: %v", transport, err)
		}
		want := shopOrder()
		want["items"].([]any)[0].(map[string]any)["price"] = big.NewRat(3, 2)
		if !same(reply, want) {
			t.Errorf("%s: reply %v", transport, reply)
		}
		if req := <-seen; !same(req, want) {
			t.Errorf("%s: the handler saw %v", transport, req)
		}
		// Unset, a uuid field is nil.
		if err := c.Call(ctx, "shop.v1.Shop/Echo", map[string]any{}, &reply); err != nil || reply["id"] != nil {
			t.Errorf("%s: %v %v", transport, reply, err)
		}
		c.Close()
	}
}

func TestAConverterThatFailsIsInvalidArgumentWithThePath(t *testing.T) {
	uri := endpoints(t)["inproc"]
	shopServer(t, uri, make(chan map[string]any, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := hmsffi.Connect(ctx, uri, hmsffi.WithConverters(shopConverters...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	plain, err := hmsffi.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	check := func(err error, code hmsffi.Code, field, description string) {
		t.Helper()
		var e *hmsffi.Error
		if !errors.As(err, &e) || e.Code() != code || len(e.FieldViolations) != 1 {
			t.Fatalf("got %v", err)
		}
		if v := e.FieldViolations[0]; v.Field != field || v.Description != description {
			t.Errorf("violation %+v", v)
		}
	}
	var reply map[string]any
	order := shopOrder()
	order["items"].([]any)[1].(map[string]any)["price"] = big.NewRat(-1, 2)
	check(c.Call(ctx, "shop.v1.Shop/Echo", order, &reply), hmsffi.InvalidArgument,
		"items[1].price", "converter for google.type.Decimal failed: no negative prices here")
	// Refused by the handler's converters: sent by a client without any.
	check(plain.Call(ctx, "shop.v1.Shop/Echo", map[string]any{"refs": []any{string(ref), "nope"}}, &reply),
		hmsffi.InvalidArgument, "refs[1]", `converter for format uuid failed: not a uuid: "nope"`)
	// A handler's reply whose converter fails is the handler's fault.
	check(c.Call(ctx, "shop.v1.Shop/Bad", map[string]any{}, &reply), hmsffi.Internal,
		"items[1].price", "converter for google.type.Decimal failed: no negative prices here")
}
