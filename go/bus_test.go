package hmsffi_test

// Publish/subscribe on the in-process bus (docs/messaging.md): NATS wildcards, queue groups,
// typed errors for a bad topic, an undeclared one, a wrong field and a proto.Message of another
// type, drop counting, and Close ending Next and All.

import (
	"context"
	"errors"
	"io"
	"math/big"
	"sort"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const busProto = `syntax = "proto3"; package shop.v1;
import "google/protobuf/struct.proto";
message OrderPlaced { string id = 1; int64 cents = 2; }
message Refund { string id = 1; bool full = 2; }`

func busSchema(t *testing.T) *hmsffi.Schema {
	t.Helper()
	schema, err := hmsffi.SchemaFromSource("shop.proto", busProto)
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

// declared declares the test's topics on bus.
func declared(t *testing.T, bus *hmsffi.Bus) *hmsffi.Bus {
	t.Helper()
	for pattern, typ := range map[string]string{
		"orders.>": "shop.v1.OrderPlaced", "refunds.*": "shop.v1.Refund", "notes.*": "google.protobuf.Struct",
	} {
		if err := bus.Declare(pattern, typ); err != nil {
			t.Fatal(err)
		}
	}
	return bus
}

func newBus(t *testing.T) *hmsffi.Bus {
	t.Helper()
	bus, err := hmsffi.NewBus(busSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	return declared(t, bus)
}

func subscribe(t *testing.T, bus *hmsffi.Bus, pattern string, opts ...hmsffi.SubscribeOption) *hmsffi.Subscription {
	t.Helper()
	sub, err := bus.Subscribe(pattern, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

func publish(t *testing.T, bus *hmsffi.Bus, topic string, msg any) {
	t.Helper()
	if err := bus.Publish(context.Background(), topic, msg); err != nil {
		t.Fatalf("publish on %s: %v", topic, err)
	}
}

// collect reads "topic:id" of the events that come within wait of each other.
func collect(t *testing.T, sub *hmsffi.Subscription, wait time.Duration) []string {
	t.Helper()
	var out []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		ev, err := sub.Next(ctx)
		cancel()
		if hmsffi.CodeOf(err) == hmsffi.DeadlineExceeded {
			return out
		}
		if err != nil {
			t.Fatalf("next: %v", err)
		}
		out = append(out, ev.Topic+":"+ev.Message["id"].(string))
	}
}

func order(id string) map[string]any { return map[string]any{"id": id, "cents": int64(5)} }

func TestBusWildcardsAndQueueGroups(t *testing.T) {
	bus := newBus(t)
	all := subscribe(t, bus, "orders.>")
	eu := subscribe(t, bus, "orders.eu.*")
	q1 := subscribe(t, bus, "orders.>", hmsffi.WithQueue("workers"))
	q2 := subscribe(t, bus, "orders.>", hmsffi.WithQueue("workers"))
	for _, topic := range []string{"orders.eu.paris", "orders.us", "orders.eu.rome", "orders.eu"} {
		publish(t, bus, topic, order(topic))
	}
	short := 200 * time.Millisecond
	if got := collect(t, all, short); len(got) != 4 || got[0] != "orders.eu.paris:orders.eu.paris" {
		t.Fatalf("orders.> got %v", got)
	}
	if got := collect(t, eu, short); len(got) != 2 || got[1] != "orders.eu.rome:orders.eu.rome" {
		t.Fatalf("orders.eu.* got %v", got)
	}
	shared := append(collect(t, q1, short), collect(t, q2, short)...)
	sort.Strings(shared)
	if len(shared) != 4 || shared[0] != "orders.eu.paris:orders.eu.paris" {
		t.Fatalf("the queue group shares each event once, got %v", shared)
	}
}

func TestBusTypedErrors(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "notes.*")
	ctx := context.Background()
	cases := []struct {
		topic  string
		msg    any
		code   hmsffi.Code
		reason string
	}{
		{"orders.*", order("a"), hmsffi.InvalidArgument, "BAD_TOPIC"},
		{"orders..eu", order("a"), hmsffi.InvalidArgument, "BAD_TOPIC"},
		{"nowhere.eu", order("a"), hmsffi.NotFound, "UNDECLARED_TOPIC"},
		{"notes.eu", wrapperspb.Int64(3), hmsffi.InvalidArgument, "WRONG_MESSAGE_TYPE"},
	}
	for _, c := range cases {
		var e *hmsffi.Error
		if err := bus.Publish(ctx, c.topic, c.msg); !errors.As(err, &e) || e.Code() != c.code || e.Reason != c.reason {
			t.Errorf("publish on %s: want %v %s, got %v", c.topic, c.code, c.reason, err)
		}
	}
	var e *hmsffi.Error
	err := bus.Publish(ctx, "orders.eu", map[string]any{"id": "a", "cents": "many"})
	if !errors.As(err, &e) || e.Code() != hmsffi.InvalidArgument || len(e.FieldViolations) != 1 || e.FieldViolations[0].Field != "cents" {
		t.Errorf("a wrong field is InvalidArgument naming it, got %v", err)
	}
	if err := bus.Declare("orders.>.x", "shop.v1.OrderPlaced"); hmsffi.CodeOf(err) != hmsffi.InvalidArgument {
		t.Errorf("a bad pattern is InvalidArgument, got %v", err)
	}
	if err := bus.Declare("x.*", "shop.v1.Nope"); hmsffi.CodeOf(err) != hmsffi.NotFound {
		t.Errorf("a type not in the schema is NotFound, got %v", err)
	}
	if _, err := bus.Subscribe("a.>.b"); hmsffi.CodeOf(err) != hmsffi.InvalidArgument {
		t.Errorf("a bad subscription pattern is InvalidArgument, got %v", err)
	}
	// A proto.Message of the declared type goes out and comes back as a map.
	note, _ := structpb.NewStruct(map[string]any{"text": "hello"})
	publish(t, bus, "notes.eu", note)
	ev, err := sub.Next(withTimeout(t, 5*time.Second))
	if err != nil || ev.Topic != "notes.eu" || ev.Message["text"] != "hello" {
		t.Fatalf("proto event: %v %v", ev, err)
	}
}

func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestBusSlowSubscriberDropsAndCounts(t *testing.T) {
	bus := newBus(t)
	slow := subscribe(t, bus, "orders.>", hmsffi.WithPending(2))
	for i := range 6 {
		publish(t, bus, "orders.eu", order(string(rune('a'+i))))
	}
	// The subscription's goroutine may have taken one event out of the queue already.
	got := collect(t, slow, 200*time.Millisecond)
	if d := slow.Dropped(); d+uint64(len(got)) != 6 || d < 3 {
		t.Fatalf("dropped %d and got %v of 6", d, got)
	}
	if _, err := bus.Subscribe("orders.>", hmsffi.WithPending(-1)); hmsffi.CodeOf(err) != hmsffi.InvalidArgument {
		t.Fatalf("a negative pending is InvalidArgument, got %v", err)
	}
}

func TestBusCloseEndsNextAndAll(t *testing.T) {
	bus := newBus(t)
	sub := subscribe(t, bus, "orders.>")
	publish(t, bus, "orders.eu", order("x"))
	done := make(chan []string, 1)
	go func() {
		var seen []string
		for ev, err := range sub.All(context.Background()) {
			if err != nil {
				seen = append(seen, "error: "+err.Error())
				continue
			}
			seen = append(seen, ev.Topic)
		}
		done <- seen
	}()
	time.Sleep(100 * time.Millisecond)
	sub.Close()
	select {
	case seen := <-done:
		if len(seen) != 1 || seen[0] != "orders.eu" {
			t.Fatalf("All saw %v", seen)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end All")
	}
	if _, err := sub.Next(context.Background()); err != io.EOF {
		t.Fatalf("Next after Close: want io.EOF, got %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	other := subscribe(t, bus, "refunds.*")
	if _, err := other.Next(ctx); hmsffi.CodeOf(err) != hmsffi.DeadlineExceeded {
		t.Fatalf("Next honours the context's deadline, got %v", err)
	}
	bus.Close()
	if err := bus.Publish(context.Background(), "orders.eu", order("y")); hmsffi.CodeOf(err) != hmsffi.FailedPrecondition {
		t.Fatalf("publish on a closed bus: %v", err)
	}
}

func TestBusConvertersBothWays(t *testing.T) {
	schema, err := hmsffi.SchemaFromSource("shop.proto", shopProto)
	if err != nil {
		t.Fatal(err)
	}
	bus, err := hmsffi.NewBus(schema, hmsffi.WithBusConverters(shopConverters...))
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	if err := bus.Declare("orders.*", "shop.v1.Order"); err != nil {
		t.Fatal(err)
	}
	sub := subscribe(t, bus, "orders.*")
	publish(t, bus, "orders.eu", shopOrder())
	ev, err := sub.Next(withTimeout(t, 5*time.Second))
	if err != nil || !same(ev.Message, shopOrder()) {
		t.Fatalf("the event, converted back: %v %v", ev.Message, err)
	}
	order := shopOrder()
	order["items"].([]any)[1].(map[string]any)["price"] = big.NewRat(-1, 2)
	var e *hmsffi.Error
	err = bus.Publish(context.Background(), "orders.eu", order)
	if !errors.As(err, &e) || e.Code() != hmsffi.InvalidArgument || len(e.FieldViolations) != 1 || e.FieldViolations[0].Field != "items[1].price" {
		t.Fatalf("a converter that fails is InvalidArgument with the path, got %v", err)
	}
}
