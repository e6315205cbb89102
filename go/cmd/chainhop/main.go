// Command chainhop is Go's link of the deadline and cancellation chain of issue 23
// (tests/chain/chain.proto, tests/interop/test_chain.py):
//
//	chainhop PROTO URI   # serves chain.v1.Chain/Call until SIGTERM; prints "ready"
//
// A hop calls the next link with its handler's context, as Go code passes a context.Context:
// the deadline and the cancellation of the incoming call travel with it. Events go to
// $HMS_CHAIN_LOG as JSON lines.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

var (
	mu      sync.Mutex
	clients = map[string]*hmsffi.Client{}
)

func logEvent(event map[string]any) {
	event["lang"] = "go"
	line, _ := json.Marshal(event)
	mu.Lock()
	defer mu.Unlock()
	f, err := os.OpenFile(os.Getenv("HMS_CHAIN_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}

func client(ctx context.Context, uri string) (*hmsffi.Client, error) {
	mu.Lock()
	defer mu.Unlock()
	if c, ok := clients[uri]; ok {
		return c, nil
	}
	c, err := hmsffi.Connect(ctx, uri)
	if err == nil {
		clients[uri] = c
	}
	return c, err
}

func hop(ctx context.Context, req map[string]any) (map[string]any, error) {
	start := time.Now()
	left := -1.0
	if d, ok := ctx.Deadline(); ok {
		left = float64(time.Until(d).Microseconds()) / 1000
	}
	next, _ := req["next"].([]any)
	tag, _ := req["tag"].(string)
	if len(next) == 0 {
		sleep, _ := req["sleep_ms"].(int64)
		select {
		case <-time.After(time.Duration(sleep) * time.Millisecond):
		case <-ctx.Done():
		}
		cancelled := ctx.Err() != nil
		logEvent(map[string]any{"tag": tag, "event": "last", "left_ms": left, "cancelled": cancelled, "elapsed_ms": time.Since(start).Milliseconds()})
		return map[string]any{"lang": "go", "left_ms": left, "cancelled": cancelled}, nil
	}
	c, err := client(ctx, next[0].(string))
	var reply map[string]any
	if err == nil {
		err = c.Call(ctx, "chain.v1.Chain/Call", map[string]any{"next": next[1:], "sleep_ms": req["sleep_ms"], "tag": tag}, &reply)
	}
	if err != nil {
		logEvent(map[string]any{"tag": tag, "event": "hop", "left_ms": left, "code": hmsffi.CodeOf(err).String(), "elapsed_ms": time.Since(start).Milliseconds()})
		return nil, err
	}
	return reply, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: chainhop PROTO URI")
		os.Exit(2)
	}
	schema, err := hmsffi.LoadSchema(os.Args[1])
	var srv *hmsffi.Server
	if err == nil {
		srv, err = hmsffi.NewServer(schema)
	}
	if err == nil {
		err = srv.Handle("chain.v1.Chain/Call", hop)
	}
	if err == nil {
		_, err = srv.Listen(os.Args[2])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.Shutdown(context.Background())
}
