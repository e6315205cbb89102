package hmsffi_test

// The bus over a nats-server of the test's own (scripts/install-nats.sh installs it; the tests
// are skipped, saying so, when it is absent): events checked by the subscriber's own
// declaration, queue groups across connections, and an event a Python process published.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// natsServer starts a nats-server on a free port, with args added (-js -sd DIR for
// JetStream), and returns nats://127.0.0.1:PORT; it is killed when the test ends.
func natsServer(t *testing.T, args ...string) string {
	t.Helper()
	bin := os.Getenv("HMS_FFI_NATS_SERVER")
	if bin == "" {
		bin, _ = filepath.Abs("../target/tools/nats/bin/nats-server")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("SKIPPED: nats-server is not installed (%s): run scripts/install-nats.sh", bin)
	}
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		_, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command(bin, append([]string{"-a", "127.0.0.1", "-p", port}, args...)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case <-exited:
			default:
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					t.Cleanup(func() { cmd.Process.Kill(); <-exited })
					return "nats://" + addr
				}
				continue
			}
			break // it exited: the port was taken meanwhile
		}
		cmd.Process.Kill()
		<-exited
	}
	t.Fatal("nats-server did not start in 5 attempts")
	return ""
}

func connectBus(t *testing.T, uri string) *hmsffi.Bus {
	t.Helper()
	bus, err := hmsffi.ConnectBus(withTimeout(t, 10*time.Second), uri, busSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	return bus
}

func TestBusOverNatsChecksTheSubscribersDeclaration(t *testing.T) {
	uri := natsServer(t) + "/shop"
	publisher := declared(t, connectBus(t, uri))
	consumer := connectBus(t, uri)
	for pattern, typ := range map[string]string{"orders.>": "shop.v1.OrderPlaced", "refunds.*": "shop.v1.OrderPlaced"} {
		if err := consumer.Declare(pattern, typ); err != nil { // believes refunds are orders
			t.Fatal(err)
		}
	}
	sub := subscribe(t, consumer, ">")
	publish(t, publisher, "orders.eu", order("o1"))
	publish(t, publisher, "refunds.eu", map[string]any{"id": "r1", "full": true})
	publish(t, publisher, "orders.us", order("o2"))
	ctx := withTimeout(t, 10*time.Second)
	ev, err := sub.Next(ctx)
	if err != nil || ev.Topic != "orders.eu" || ev.Message["id"] != "o1" || ev.Message["cents"] != int64(5) {
		t.Fatalf("first event: %v %v", ev, err)
	}
	var e *hmsffi.Error
	if _, err := sub.Next(ctx); !errors.As(err, &e) || e.Code() != hmsffi.InvalidArgument || e.Reason != "WRONG_MESSAGE_TYPE" {
		t.Fatalf("an event of another type: want WRONG_MESSAGE_TYPE, got %v", err)
	}
	if ev, err := sub.Next(ctx); err != nil || ev.Message["id"] != "o2" {
		t.Fatalf("the subscription goes on after a bad event: %v %v", ev, err)
	}
}

func TestBusQueueGroupOverNats(t *testing.T) {
	uri := natsServer(t) + "/shop"
	publisher := declared(t, connectBus(t, uri))
	q1 := subscribe(t, declared(t, connectBus(t, uri)), "orders.*", hmsffi.WithQueue("w"))
	q2 := subscribe(t, declared(t, connectBus(t, uri)), "orders.*", hmsffi.WithQueue("w"))
	for i := range 10 {
		publish(t, publisher, "orders.eu", order(fmt.Sprint(i)))
	}
	got := append(collect(t, q1, 500*time.Millisecond), collect(t, q2, 500*time.Millisecond)...)
	sort.Strings(got)
	if len(got) != 10 {
		t.Fatalf("each event to one member of the group, got %v", got)
	}
}

func TestBusReceivesWhatPythonPublished(t *testing.T) {
	uri := natsServer(t) + "/shop"
	python, _ := filepath.Abs("../target/py-venv/bin/python")
	if _, err := os.Stat(python); err != nil {
		t.Skipf("SKIPPED: the Python package is not installed (%s): run make py-install", python)
	}
	sub := subscribe(t, declared(t, connectBus(t, uri)), "orders.>")
	script := `import sys, hms_ffi
schema = hms_ffi.Schema.from_source("shop.proto", sys.argv[2])
bus = hms_ffi.Bus.connect(sys.argv[1], schema)
bus.declare("orders.>", "shop.v1.OrderPlaced")
bus.publish("orders.py", {"id": "from-python", "cents": 42})
`
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", script, uri, strings.Replace(busProto, `import "google/protobuf/struct.proto";`, "", 1)).CombinedOutput()
	if err != nil {
		t.Fatalf("python publisher: %v\n%s", err, out)
	}
	ev, err := sub.Next(withTimeout(t, 10*time.Second))
	if err != nil || ev.Topic != "orders.py" || ev.Message["id"] != "from-python" || ev.Message["cents"] != int64(42) {
		t.Fatalf("the event Python published: %v %v", ev, err)
	}
}
