// Command faultclient is Go's client of the fault proof of issue 23 (tests/faults/test_faults.py):
//
//	faultclient PROTO RESILIENCE PREFIX CALLS CALLERS URI...
//
// It connects to every URI with the resilience options (JSON text); CALLERS goroutines make
// CALLS / CALLERS calls each of res.v1.Counter/Get (IDEMPOTENT), then of res.v1.Counter/Add,
// with ids PREFIX-KIND-CALLER-N, and check that each reply carries its own id. It prints one
// JSON line: per method the calls that succeeded and those that failed UNAVAILABLE, replies that
// were not the caller's own, and any other error.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// lib is set at build time to the C library's checksum (mk/faults.mk): Go's build cache does
// not see a changed C library, a changed flag makes it link again.
var lib string

type counts struct {
	OK          int `json:"ok"`
	Unavailable int `json:"unavailable"`
}

type summary struct {
	Get    counts   `json:"get"`
	Add    counts   `json:"add"`
	Wrong  int      `json:"wrong"`
	Other  int      `json:"other"`
	Errors []string `json:"errors"`
	mu     sync.Mutex
}

func (s *summary) note(kind string, ok, unavailable bool, problem string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.Get
	if kind == "add" {
		c = &s.Add
	}
	switch {
	case ok:
		c.OK++
	case unavailable:
		c.Unavailable++
	default:
		if problem == "" {
			return
		}
		if len(s.Errors) < 10 {
			s.Errors = append(s.Errors, problem)
		}
	}
}

func run(client *hmsffi.Client, s *summary, kind, prefix string, t, per int) {
	method := map[string]string{"get": "res.v1.Counter/Get", "add": "res.v1.Counter/Add"}[kind]
	for n := 0; n < per; n++ {
		id := fmt.Sprintf("%s-%s-%d-%d", prefix, kind, t, n)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		var reply map[string]any
		err := client.Call(ctx, method, map[string]any{"id": id}, &reply)
		cancel()
		switch {
		case err != nil && hmsffi.CodeOf(err) == hmsffi.Unavailable:
			s.note(kind, false, true, "")
		case err != nil:
			s.mu.Lock()
			s.Other++
			s.mu.Unlock()
			s.note(kind, false, false, fmt.Sprintf("%s: %v", id, err))
		case reply["id"] != id:
			s.mu.Lock()
			s.Wrong++
			s.mu.Unlock()
			s.note(kind, false, false, fmt.Sprintf("%s: got the reply of %v", id, reply["id"]))
		default:
			s.note(kind, true, false, "")
		}
	}
}

func main() {
	if len(os.Args) < 7 {
		fmt.Fprintln(os.Stderr, "usage: faultclient PROTO RESILIENCE PREFIX CALLS CALLERS URI...")
		os.Exit(2)
	}
	proto, resilience, prefix := os.Args[1], os.Args[2], os.Args[3]
	calls, err1 := strconv.Atoi(os.Args[4])
	callers, err2 := strconv.Atoi(os.Args[5])
	if err1 != nil || err2 != nil || callers < 1 {
		fmt.Fprintln(os.Stderr, "CALLS and CALLERS are numbers")
		os.Exit(2)
	}
	schema, err := hmsffi.LoadSchema(proto)
	var client *hmsffi.Client
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		client, err = hmsffi.ConnectAll(ctx, os.Args[6:], hmsffi.WithSchema(schema), hmsffi.WithResilience(resilience))
		cancel()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := &summary{Errors: []string{}}
	for _, kind := range []string{"get", "add"} {
		var wg sync.WaitGroup
		for t := 0; t < callers; t++ {
			wg.Add(1)
			go func(t int) {
				defer wg.Done()
				run(client, s, kind, prefix, t, calls/callers)
			}(t)
		}
		wg.Wait()
	}
	_ = client.Close()
	out, _ := json.Marshal(s)
	fmt.Println(string(out))
}
