// Command busdurable is Go's end of the cross-language durable events test
// (tests/interop/test_bus_cross_language.py):
//
//	busdurable publish URI PROTO ID...  # publishes shop.v1.OrderPlaced{id, cents} on orders.eu
//	busdurable read URI PROTO NAME      # reads the durable consumer NAME of orders.>, acks each
//
// URI is a JetStream bus (nats://host:port/PREFIX?jetstream=STREAM) and PROTO a file declaring
// shop.v1.OrderPlaced with its topic. read prints each delivery as a JSON line
// ({"id", "sequence", "delivered"}) and ends once none came for two seconds. Every wait is
// bounded: the whole run by 30 s.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: busdurable publish URI PROTO ID... | read URI PROTO NAME")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := run(ctx, os.Args[1], os.Args[2], os.Args[3], os.Args[4:])
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "busdurable:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mode, uri, protoPath string, args []string) error {
	source, err := os.ReadFile(protoPath)
	if err != nil {
		return err
	}
	schema, err := hmsffi.SchemaFromSource("shop.proto", string(source))
	if err != nil {
		return err
	}
	bus, err := hmsffi.ConnectBus(ctx, uri, schema)
	if err != nil {
		return err
	}
	defer bus.Close()
	switch mode {
	case "publish":
		for i, id := range args {
			if err := bus.Publish(ctx, "orders.eu", map[string]any{"id": id, "cents": int64(i + 1)}); err != nil {
				return err
			}
		}
		return nil
	case "read":
		return read(ctx, bus, args[0])
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// read acks and prints each delivery of the consumer name until none comes for two seconds.
func read(ctx context.Context, bus *hmsffi.Bus, name string) error {
	sub, err := bus.SubscribeDurable(ctx, "orders.>", name)
	if err != nil {
		return err
	}
	defer sub.Close()
	for {
		wait, cancel := context.WithTimeout(ctx, 2*time.Second)
		d, err := sub.Next(wait)
		cancel()
		if hmsffi.CodeOf(err) == hmsffi.DeadlineExceeded && ctx.Err() == nil {
			return nil
		}
		if err != nil {
			return err
		}
		if err := d.Ack(ctx); err != nil {
			return err
		}
		line, _ := json.Marshal(map[string]any{"id": d.Message["id"], "sequence": d.Sequence, "delivered": d.Delivered})
		fmt.Println(string(line))
	}
}
