package hmsffi_test

// Durable events (JetStream) from Go: a bus connected with ?jetstream=STREAM stores what it
// publishes; SubscribeDurable reads through a named consumer with acknowledgements, redelivery
// and replay, and resumes after its reader restarts. Each test starts a nats-server of its own
// with JetStream in a temporary store (skipped, saying so, only when nats-server is absent).

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// jsURI starts a nats-server with JetStream and returns a bus URI with the stream SHOP.
func jsURI(t *testing.T) string {
	t.Helper()
	return natsServer(t, "-js", "-sd", t.TempDir()) + "/events?jetstream=SHOP"
}

func durable(t *testing.T, bus *hmsffi.Bus, name string, opts ...hmsffi.DurableOption) *hmsffi.DurableSubscription {
	t.Helper()
	sub, err := bus.SubscribeDurable(withTimeout(t, 10*time.Second), "orders.>", name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

// next is the next delivery within 5 s.
func next(t *testing.T, sub *hmsffi.DurableSubscription) *hmsffi.Delivery {
	t.Helper()
	d, err := sub.Next(withTimeout(t, 5*time.Second))
	if err != nil {
		t.Fatalf("a delivery within 5 s: %v", err)
	}
	return d
}

// quiet checks that nothing comes within wait.
func quiet(t *testing.T, sub *hmsffi.DurableSubscription, wait time.Duration) {
	t.Helper()
	if d, err := sub.Next(withTimeout(t, wait)); hmsffi.CodeOf(err) != hmsffi.DeadlineExceeded {
		t.Fatalf("want nothing within %v, got %+v %v", wait, d, err)
	}
}

func answer(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func TestDurableAcknowledgedOnceRedeliveredOtherwise(t *testing.T) {
	bus := declared(t, connectBus(t, jsURI(t)))
	for _, id := range []string{"o1", "o2", "o3"} {
		publish(t, bus, "orders.eu", order(id))
	}
	sub := durable(t, bus, "billing", hmsffi.WithAckWait(400*time.Millisecond))
	ctx := withTimeout(t, 10*time.Second)
	first := next(t, sub)
	if first.Topic != "orders.eu" || first.Message["id"] != "o1" || first.Message["cents"] != int64(5) ||
		first.Sequence != 1 || first.Delivered != 1 {
		t.Fatalf("first delivery: %+v", first)
	}
	answer(t, "ack", first.Ack(ctx))
	answer(t, "nak", next(t, sub).Nak(ctx, 0))
	answer(t, "ack", next(t, sub).Ack(ctx))
	again := next(t, sub)
	if again.Message["id"] != "o2" || again.Delivered != 2 {
		t.Fatalf("refused with Nak, o2 comes again: %+v", again)
	}
	// Not answered: after the ack wait it comes a third time.
	late := next(t, sub)
	if late.Message["id"] != "o2" || late.Delivered != 3 {
		t.Fatalf("unanswered, o2 comes a third time: %+v", late)
	}
	answer(t, "in progress", late.InProgress(ctx))
	answer(t, "ack", late.Ack(ctx))
	quiet(t, sub, time.Second)
}

func TestDurableNamedConsumerResumesAndReplays(t *testing.T) {
	uri := jsURI(t)
	bus := declared(t, connectBus(t, uri))
	publish(t, bus, "orders.eu", order("old"))
	time.Sleep(50 * time.Millisecond)
	since := time.Now()
	time.Sleep(50 * time.Millisecond)
	for _, id := range []string{"n1", "n2", "n3"} {
		publish(t, bus, "orders.eu", order(id))
	}
	ctx := withTimeout(t, 10*time.Second)
	sub := durable(t, bus, "audit", hmsffi.WithBatch(1))
	for _, want := range []string{"old", "n1"} {
		d := next(t, sub)
		if d.Message["id"] != want {
			t.Fatalf("want %s, got %+v", want, d)
		}
		answer(t, "ack", d.Ack(ctx))
	}
	sub.Close()
	// Another bus (as another process would) resumes the consumer after the acknowledged ones.
	other := declared(t, connectBus(t, uri))
	if d := next(t, durable(t, other, "audit", hmsffi.WithBatch(1))); d.Message["id"] != "n2" {
		t.Fatalf("resumed consumer: want n2, got %+v", d)
	}
	if d := next(t, durable(t, other, "", hmsffi.WithStartSequence(3))); d.Message["id"] != "n2" || d.Sequence != 3 {
		t.Fatalf("replay from sequence 3: want n2, got %+v", d)
	}
	if d := next(t, durable(t, other, "", hmsffi.WithStartTime(since))); d.Message["id"] != "n1" {
		t.Fatalf("replay from a time: want n1, got %+v", d)
	}
	if d := next(t, durable(t, other, "", hmsffi.WithDeliverLast())); d.Message["id"] != "n3" {
		t.Fatalf("the last event: want n3, got %+v", d)
	}
	quiet(t, durable(t, other, "", hmsffi.WithDeliverNew()), 300*time.Millisecond)
}

func TestDurableTypedErrors(t *testing.T) {
	uri := jsURI(t)
	plain := declared(t, connectBus(t, strings.Split(uri, "?")[0]))
	var e *hmsffi.Error
	_, err := plain.SubscribeDurable(withTimeout(t, 10*time.Second), "orders.>", "x")
	if !errors.As(err, &e) || e.Code() != hmsffi.FailedPrecondition || e.Reason != "NO_JETSTREAM" {
		t.Fatalf("a bus without JetStream: want FailedPrecondition NO_JETSTREAM, got %v", err)
	}
	bus := declared(t, connectBus(t, uri))
	if _, err := bus.SubscribeDurable(withTimeout(t, 10*time.Second), "a.>.b", "x"); hmsffi.CodeOf(err) != hmsffi.InvalidArgument {
		t.Fatalf("a bad pattern: want InvalidArgument, got %v", err)
	}
	// A consumer that believes refunds are orders: that event is its typed error, terminated,
	// and the subscription goes on.
	consumer := connectBus(t, uri)
	for _, pattern := range []string{"orders.>", "refunds.*"} {
		answer(t, "declare", consumer.Declare(pattern, "shop.v1.OrderPlaced"))
	}
	publish(t, bus, "refunds.eu", map[string]any{"id": "r1", "full": true})
	publish(t, bus, "orders.eu", order("o1"))
	sub, err := consumer.SubscribeDurable(withTimeout(t, 10*time.Second), ">", "", hmsffi.WithAckWait(300*time.Millisecond))
	answer(t, "subscribe", err)
	defer sub.Close()
	if _, err := sub.Next(withTimeout(t, 5*time.Second)); !errors.As(err, &e) || e.Reason != "WRONG_MESSAGE_TYPE" {
		t.Fatalf("an event of another type: want WRONG_MESSAGE_TYPE, got %v", err)
	}
	d := next(t, sub)
	if d.Message["id"] != "o1" {
		t.Fatalf("the subscription goes on: %+v", d)
	}
	answer(t, "ack", d.Ack(withTimeout(t, 5*time.Second)))
	quiet(t, sub, time.Second) // the terminated event does not come again
}

func TestDurableCloseEndsAWaitingNextAndDeliveriesOutliveIt(t *testing.T) {
	bus := declared(t, connectBus(t, jsURI(t)))
	publish(t, bus, "orders.eu", order("o1"))
	sub := durable(t, bus, "idle")
	d := next(t, sub)
	done := make(chan error, 1)
	go func() {
		_, err := sub.Next(context.Background())
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	sub.Close()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Fatalf("want io.EOF after Close, got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end a waiting Next")
	}
	for range sub.All(withTimeout(t, time.Second)) {
		t.Fatal("All yields nothing once closed")
	}
	answer(t, "ack after Close (the server confirmed it)", d.Ack(withTimeout(t, 5*time.Second)))
}

func TestDurableANextThatGaveUpLosesNothing(t *testing.T) {
	bus := declared(t, connectBus(t, jsURI(t)))
	sub := durable(t, bus, "patient")
	quiet(t, sub, 200*time.Millisecond) // this reader gives up while the library waits
	publish(t, bus, "orders.eu", order("o1"))
	if d := next(t, sub); d.Message["id"] != "o1" || d.Delivered != 1 {
		t.Fatalf("the next reader gets the delivery taken for the one that gave up: %+v", d)
	}
}

func TestDurableMaxDeliverCapsRedelivery(t *testing.T) {
	bus := declared(t, connectBus(t, jsURI(t)))
	publish(t, bus, "orders.eu", order("o1"))
	sub := durable(t, bus, "capped", hmsffi.WithMaxDeliver(2))
	ctx := withTimeout(t, 10*time.Second)
	for want := uint32(1); want <= 2; want++ {
		d := next(t, sub)
		if d.Delivered != want {
			t.Fatalf("delivery %d: %+v", want, d)
		}
		answer(t, "nak", d.Nak(ctx, 0))
	}
	quiet(t, sub, time.Second) // delivered twice: no third time
}
