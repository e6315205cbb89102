// The greeter example in Go: the same service as examples/rust/greeter.rs and
// examples/python/greeter.py.
//
//	go run . serve unix:///tmp/greeter.sock   # a server (Ctrl-C stops)
//	go run . call unix:///tmp/greeter.sock Ada
//	go run . both                              # one process, inproc://
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

func protoPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "protos", "greeter.proto")
}

func newServer() (*hmsffi.Server, error) {
	schema, err := hmsffi.LoadSchema(protoPath())
	if err != nil {
		return nil, err
	}
	srv, err := hmsffi.NewServer(schema)
	if err != nil {
		return nil, err
	}
	err = srv.Handle("demo.v1.Greeter/SayHello", func(ctx context.Context, req map[string]any) (map[string]any, error) {
		name, _ := req["name"].(string)
		if name == "" {
			return nil, hmsffi.NewError(hmsffi.InvalidArgument, "name must not be empty", hmsffi.FieldViolation{Field: "name", Description: "empty"})
		}
		times, _ := req["times"].(int64)
		parts := make([]string, max(times, 1))
		for i := range parts {
			parts[i] = "Hello " + name + " from Go"
		}
		fmt.Println("[go server] SayHello for", name)
		return map[string]any{"message": strings.Join(parts, ", "), "at": time.Now().UTC()}, nil
	})
	if err != nil {
		return nil, err
	}
	err = srv.Handle("demo.v1.Greeter/Echo", func(ctx context.Context, req map[string]any) (map[string]any, error) {
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	// A server-streaming handler sends each reply; returning ends the stream.
	return srv, srv.HandleServerStream("demo.v1.Greeter/Chatter", func(ctx context.Context, req map[string]any, send func(map[string]any) error) error {
		times, _ := req["times"].(int64)
		if times <= 0 {
			times = 3
		}
		for i := range times {
			if err := send(map[string]any{"message": fmt.Sprintf("#%d hi %v from Go", i, req["name"]), "at": time.Now().UTC()}); err != nil {
				return err
			}
		}
		return nil
	})
}

func call(uri, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	client, err := hmsffi.Connect(ctx, uri)
	if err != nil {
		return err
	}
	defer client.Close()
	if strings.HasPrefix(uri, "auto://") {
		fmt.Printf("[go client] %s found the server at %s\n", uri, client.Transport())
	}
	methods, _ := client.Methods()
	fmt.Printf("[go client] %d methods, first %s\n", len(methods), methods[0].Name)
	var reply map[string]any
	if err := client.Call(ctx, "demo.v1.Greeter/SayHello", map[string]any{"name": name, "times": 2}, &reply); err != nil {
		return err
	}
	fmt.Printf("[go client] SayHello -> %q at %v\n", reply["message"], reply["at"])
	for item, err := range client.ServerStream(ctx, "demo.v1.Greeter/Chatter", map[string]any{"name": name, "times": 2}) {
		if err != nil {
			fmt.Println("[go client] Chatter:", err) // a server in a language without streams yet
			break
		}
		fmt.Printf("[go client] Chatter -> %q\n", item["message"])
	}
	err = client.Call(ctx, "demo.v1.Greeter/SayHello", map[string]any{"name": 42}, &reply)
	var e *hmsffi.Error
	if errors.As(err, &e) {
		fmt.Printf("[go client] a wrong type is refused: %v %v\n", e, e.FieldViolations)
	}
	err = client.Call(ctx, "demo.v1.Greeter/SayHello", map[string]any{"name": ""}, &reply)
	if errors.As(err, &e) {
		fmt.Printf("[go client] the handler's error comes back typed: %s %q (from %+v)\n", e.Code(), e.Message(), *e.Origin)
	}
	return nil
}

func main() {
	mode := "both"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	arg := func(i int, def string) string {
		if len(os.Args) > i {
			return os.Args[i]
		}
		return def
	}
	var err error
	switch mode {
	case "serve":
		var srv *hmsffi.Server
		if srv, err = newServer(); err == nil {
			uri := arg(2, "unix:///tmp/hms-greeter.sock")
			if _, err = srv.Listen(uri); err == nil {
				fmt.Println("[go server] listening on", uri)
				sig := make(chan os.Signal, 1)
				signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
				<-sig
				srv.Shutdown(context.Background())
			}
		}
	case "call":
		err = call(arg(2, "unix:///tmp/hms-greeter.sock"), arg(3, "Ada"))
	case "both":
		var srv *hmsffi.Server
		if srv, err = newServer(); err == nil {
			if _, err = srv.Listen("inproc://go-greeter"); err == nil {
				err = call("inproc://go-greeter", "Ada")
			}
			srv.Shutdown(context.Background())
		}
	default:
		err = fmt.Errorf("unknown mode %q (serve|call|both)", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
