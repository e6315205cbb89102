// Command natsbus is the Go subscriber of benches/python/nats_bus_bench.py (issue 22's target:
// over NATS, a Python publisher -> Go subscriber of 64-byte events reaches >= 80 % of the raw
// rate of the stock clients, nats-py publisher -> nats.go subscriber, in the same run).
//
// With -mode hms it subscribes through hms-ffi's Bus (nats://ADDR/PREFIX, typed topics,
// each event decoded and checked); with -mode raw through a plain nats.go subscription on
// PREFIX.>. It prints "ready" once subscribed, then receives -n events and prints one line:
// "received N first_unix_ns last_unix_ns" (wall clock, for the driver on the same machine).
// It gives up after -timeout and prints what it received.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/nats-io/nats.go"
)

const proto = `syntax = "proto3"; package bench.v1; message Tick { bytes data = 1; }`

func main() {
	mode := flag.String("mode", "hms", "hms (hms-ffi Bus) or raw (nats.go)")
	addr := flag.String("addr", "127.0.0.1:4222", "nats-server host:port")
	prefix := flag.String("prefix", "bench", "subject prefix")
	n := flag.Int("n", 100000, "events to receive")
	timeout := flag.Duration("timeout", 60*time.Second, "give up after")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var got int
	var first, last time.Time
	var err error
	switch *mode {
	case "hms":
		got, first, last, err = viaHms(ctx, *addr, *prefix, *n)
	case "raw":
		got, first, last, err = viaRaw(ctx, *addr, *prefix, *n)
	default:
		err = fmt.Errorf("unknown mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "natsbus:", err)
	}
	fmt.Printf("received %d %d %d\n", got, first.UnixNano(), last.UnixNano())
}

func viaHms(ctx context.Context, addr, prefix string, n int) (int, time.Time, time.Time, error) {
	var first, last time.Time
	schema, err := hmsffi.SchemaFromSource("bench.proto", proto)
	if err != nil {
		return 0, first, last, err
	}
	bus, err := hmsffi.ConnectBus(ctx, fmt.Sprintf("nats://%s/%s", addr, prefix), schema)
	if err != nil {
		return 0, first, last, err
	}
	defer bus.Close()
	if err := bus.Declare("ticks.>", "bench.v1.Tick"); err != nil {
		return 0, first, last, err
	}
	sub, err := bus.Subscribe("ticks.>", hmsffi.WithPending(n))
	if err != nil {
		return 0, first, last, err
	}
	defer sub.Close()
	fmt.Println("ready")
	got := 0
	for got < n {
		if _, err := sub.Next(ctx); err != nil {
			return got, first, last, err
		}
		if got == 0 {
			first = time.Now()
		}
		got++
	}
	return got, first, time.Now(), nil
}

func viaRaw(ctx context.Context, addr, prefix string, n int) (int, time.Time, time.Time, error) {
	var first, last time.Time
	nc, err := nats.Connect("nats://" + addr)
	if err != nil {
		return 0, first, last, err
	}
	defer nc.Close()
	ch := make(chan *nats.Msg, n)
	sub, err := nc.ChanSubscribe(prefix+".>", ch)
	if err != nil {
		return 0, first, last, err
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		return 0, first, last, err
	}
	fmt.Println("ready")
	got := 0
	for got < n {
		select {
		case <-ch:
		case <-ctx.Done():
			return got, first, last, ctx.Err()
		}
		if got == 0 {
			first = time.Now()
		}
		got++
	}
	return got, first, time.Now(), nil
}
