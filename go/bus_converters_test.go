package hmsffi_test

// Converters on the bus (docs/converters.md, docs/messaging.md): the events a Bus made with
// WithBusConverters publishes and receives, and the deliveries of its durable subscriptions,
// carry the caller's Go types (a decimal, an amount of money, a date), in process and over a
// nats-server of the test's own. A converter that fails is InvalidArgument with the value's
// path, and the subscription goes on with the next event.

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

const pricedProto = `syntax = "proto3"; package shop.v1;
import "google/type/decimal.proto";
import "google/type/money.proto";
import "google/type/date.proto";
message Line { string sku = 1; google.type.Decimal price = 2; }
message Priced {
  string id = 1; google.type.Decimal price = 2; google.type.Money total = 3;
  google.type.Date due = 4; repeated Line lines = 5;
}`

// Money is an amount of money of the test's own: google.type.Money.
type Money struct {
	Amount   *big.Rat
	Currency string
}

var billion = big.NewRat(1_000_000_000, 1)

func integer(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case uint64:
		return int64(n)
	}
	return 0
}

// pricedConverters are shopConverters' decimal, except that it refuses to make 13 on the
// way in, with a money and a date converter.
var pricedConverters = []hmsffi.Converter{
	{
		Message:   "google.type.Decimal",
		Type:      reflect.TypeOf(&big.Rat{}),
		ToMessage: shopConverters[0].ToMessage,
		FromMessage: func(m any) (any, error) {
			if m.(map[string]any)["value"] == "13.00" {
				return nil, errors.New("unlucky")
			}
			return shopConverters[0].FromMessage(m)
		},
	},
	{
		Message: "google.type.Money",
		Type:    reflect.TypeOf(Money{}),
		ToMessage: func(v any) (any, error) {
			m := v.(Money)
			nanos := new(big.Rat).Mul(m.Amount, billion)
			if !nanos.IsInt() {
				return nil, fmt.Errorf("%s has more than nine decimal places", m.Amount.FloatString(10))
			}
			units, rest := new(big.Int).QuoRem(nanos.Num(), billion.Num(), new(big.Int))
			return map[string]any{"currency_code": m.Currency, "units": units.Int64(), "nanos": rest.Int64()}, nil
		},
		FromMessage: func(m any) (any, error) {
			f := m.(map[string]any)
			amount := new(big.Rat).SetFrac64(integer(f["units"])*1_000_000_000+integer(f["nanos"]), 1_000_000_000)
			return Money{amount, f["currency_code"].(string)}, nil
		},
	},
	{
		Message: "google.type.Date",
		Type:    reflect.TypeOf(time.Time{}),
		ToMessage: func(v any) (any, error) {
			t := v.(time.Time)
			return map[string]any{"year": t.Year(), "month": int(t.Month()), "day": t.Day()}, nil
		},
		FromMessage: func(m any) (any, error) {
			f := m.(map[string]any)
			return time.Date(int(integer(f["year"])), time.Month(integer(f["month"])), int(integer(f["day"])), 0, 0, 0, 0, time.UTC), nil
		},
	},
}

func priced(id string, last int64) map[string]any {
	return map[string]any{
		"id":    id,
		"price": big.NewRat(3, 2),
		"total": Money{big.NewRat(12345, 1000), "EUR"},
		"due":   time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC),
		"lines": []any{map[string]any{"sku": "a", "price": big.NewRat(1, 1)}, map[string]any{"sku": "b", "price": big.NewRat(last, 1)}},
	}
}

// checkPriced checks a received message against priced(id, 2), its Go types included.
func checkPriced(t *testing.T, m map[string]any, id string) {
	t.Helper()
	total, _ := m["total"].(Money)
	due, _ := m["due"].(time.Time)
	lines, _ := m["lines"].([]any)
	if m["id"] != id || !same(m["price"], big.NewRat(3, 2)) || total.Currency != "EUR" || total.Amount.Cmp(big.NewRat(12345, 1000)) != 0 ||
		!due.Equal(time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC)) || len(lines) != 2 || !same(lines[1].(map[string]any)["price"], big.NewRat(2, 1)) {
		t.Fatalf("want %s converted, got %#v", id, m)
	}
}

// refused checks that err is a converter's failure at lines[1].price.
func refused(t *testing.T, err error, why string) {
	t.Helper()
	var e *hmsffi.Error
	if !errors.As(err, &e) || e.Code() != hmsffi.InvalidArgument || len(e.FieldViolations) != 1 ||
		e.FieldViolations[0].Field != "lines[1].price" || e.FieldViolations[0].Description != "converter for google.type.Decimal failed: "+why {
		t.Fatalf("want InvalidArgument at lines[1].price (%s), got %v", why, err)
	}
}

func pricedBus(t *testing.T, connect func(*hmsffi.Schema, ...hmsffi.BusOption) (*hmsffi.Bus, error), opts ...hmsffi.BusOption) *hmsffi.Bus {
	t.Helper()
	schema, err := hmsffi.SchemaFromSource("priced.proto", pricedProto)
	if err != nil {
		t.Fatal(err)
	}
	bus, err := connect(schema, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	if err := bus.Declare("prices.>", "shop.v1.Priced"); err != nil {
		t.Fatal(err)
	}
	return bus
}

func over(t *testing.T, uri string) func(*hmsffi.Schema, ...hmsffi.BusOption) (*hmsffi.Bus, error) {
	return func(s *hmsffi.Schema, opts ...hmsffi.BusOption) (*hmsffi.Bus, error) {
		return hmsffi.ConnectBus(withTimeout(t, 10*time.Second), uri, s, opts...)
	}
}

// eventsConvertBothWays publishes a good event, one the subscriber's converter refuses and
// another good one, and reads them.
func eventsConvertBothWays(t *testing.T, publisher, consumer *hmsffi.Bus) {
	sub := subscribe(t, consumer, "prices.*")
	refused(t, publisher.Publish(context.Background(), "prices.eu", priced("p0", -1)), "no negative prices here")
	for i, last := range []int64{2, 13, 2} {
		publish(t, publisher, "prices.eu", priced(fmt.Sprint("p", i+1), last))
	}
	ev, err := sub.Next(withTimeout(t, 5*time.Second))
	if err != nil || ev.Topic != "prices.eu" {
		t.Fatalf("the first event: %+v %v", ev, err)
	}
	checkPriced(t, ev.Message, "p1")
	_, err = sub.Next(withTimeout(t, 5*time.Second))
	refused(t, err, "unlucky")
	ev, err = sub.Next(withTimeout(t, 5*time.Second))
	if err != nil {
		t.Fatalf("the event after the refused one: %v", err)
	}
	checkPriced(t, ev.Message, "p3")
}

func TestBusConvertersInProcess(t *testing.T) {
	bus := pricedBus(t, hmsffi.NewBus, hmsffi.WithBusConverters(pricedConverters...))
	eventsConvertBothWays(t, bus, bus)
}

func TestBusConvertersOverNats(t *testing.T) {
	uri := natsServer(t) + "/shop"
	publisher := pricedBus(t, over(t, uri), hmsffi.WithBusConverters(pricedConverters...))
	consumer := pricedBus(t, over(t, uri), hmsffi.WithBusConverters(pricedConverters...))
	eventsConvertBothWays(t, publisher, consumer)
}

func TestDurableDeliveriesConvert(t *testing.T) {
	uri := natsServer(t, "-js", "-sd", t.TempDir()) + "/events?jetstream=PRICES"
	publisher := pricedBus(t, over(t, uri), hmsffi.WithBusConverters(pricedConverters...))
	for i, last := range []int64{2, 13, 2} {
		publish(t, publisher, "prices.eu", priced(fmt.Sprint("d", i+1), last))
	}
	consumer := pricedBus(t, over(t, uri), hmsffi.WithBusConverters(pricedConverters...))
	ctx := withTimeout(t, 20*time.Second)
	sub, err := consumer.SubscribeDurable(ctx, "prices.>", "billing", hmsffi.WithAckWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	first := next(t, sub)
	checkPriced(t, first.Message, "d1")
	answer(t, "ack", first.Ack(ctx))
	_, err = sub.Next(withTimeout(t, 5*time.Second))
	refused(t, err, "unlucky")
	third := next(t, sub)
	if third.Sequence != 3 {
		t.Fatalf("after the refused delivery, the third: %+v", third)
	}
	checkPriced(t, third.Message, "d3")
	answer(t, "ack", third.Ack(ctx))
	sub.Close()
	// A reader without converters gets the refused one again (never answered) as maps.
	raw := pricedBus(t, over(t, uri))
	rawSub, err := raw.SubscribeDurable(ctx, "prices.>", "billing")
	if err != nil {
		t.Fatal(err)
	}
	defer rawSub.Close()
	again, err := rawSub.Next(withTimeout(t, 10*time.Second))
	if err != nil {
		t.Fatalf("the refused delivery again: %v", err)
	}
	lines, _ := again.Message["lines"].([]any)
	if again.Message["id"] != "d2" || again.Delivered != 2 || len(lines) != 2 ||
		!reflect.DeepEqual(lines[1], map[string]any{"sku": "b", "price": map[string]any{"value": "13.00"}}) {
		t.Fatalf("d2 as maps, delivered twice: %#v", again)
	}
	answer(t, "ack", again.Ack(ctx))
}
