package hmsffi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// Client resilience and the admin listener from Go (issues 23 and 20): the core reconnects,
// retries by a gRPC service config (idempotent methods only) and balances endpoints; Go only
// passes the options (WithResilience). Server.Admin serves /metrics, /healthz, the monitoring
// page and its /api/stats.

const resProto = `syntax = "proto3";
package %s;
message Req { string id = 1; int32 fail_first = 2; }
message Rep { string id = 1; int32 previous = 2; string server = 3; }
service Counter {
  rpc Get(Req) returns (Rep) { option idempotency_level = IDEMPOTENT; }
  rpc Add(Req) returns (Rep);
}`

var retryConfig = map[string]any{
	"serviceConfig": map[string]any{"methodConfig": []any{map[string]any{
		"name": []any{map[string]any{"service": "gores.v1.Counter"}},
		"retryPolicy": map[string]any{
			"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.05s",
			"backoffMultiplier": 2, "retryableStatusCodes": []any{"UNAVAILABLE"},
		},
	}}},
}

type runs struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *runs) add(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[id]++
	return r.n[id]
}

// counterServer serves package pkg's Counter on uri as name; its methods fail the first
// fail_first runs of each id with Unavailable.
func counterServer(t *testing.T, pkg, name, uri string, r *runs) *hmsffi.Server {
	t.Helper()
	srv := newCounter(t, pkg, name, r)
	if _, err := srv.Listen(uri); err != nil {
		t.Fatal(err)
	}
	return srv
}

// newCounter is counterServer's server before it listens.
func newCounter(t *testing.T, pkg, name string, r *runs, opts ...hmsffi.ServerOption) *hmsffi.Server {
	t.Helper()
	schema, err := hmsffi.SchemaFromSource("res.proto", fmt.Sprintf(resProto, pkg))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hmsffi.NewServer(schema, opts...)
	if err != nil {
		t.Fatal(err)
	}
	counted := func(ctx context.Context, req map[string]any) (map[string]any, error) {
		id, _ := req["id"].(string)
		fail, _ := req["fail_first"].(int64)
		run := r.add(id)
		if int64(run) <= fail {
			return nil, hmsffi.NewError(hmsffi.Unavailable, fmt.Sprintf("run %d fails", run))
		}
		info, _ := hmsffi.CallInfoFromContext(ctx)
		previous, _ := strconv.Atoi(info.Metadata().Get("grpc-previous-rpc-attempts"))
		return map[string]any{"id": id, "previous": previous, "server": name}, nil
	}
	for _, m := range []string{"Get", "Add"} {
		if err := srv.Handle(pkg+".Counter/"+m, counted); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return srv
}

func call(ctx context.Context, c *hmsffi.Client, method string, req map[string]any) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var reply map[string]any
	err := c.Call(ctx, method, req, &reply)
	return reply, err
}

func TestAServiceConfigRetriesIdempotentMethodsOnly(t *testing.T) {
	r := &runs{n: map[string]int{}}
	uri := "unix://" + filepath.Join(t.TempDir(), "p.sock")
	counterServer(t, "gores.v1", "one", uri, r)
	ctx := context.Background()
	c, err := hmsffi.Connect(ctx, uri, hmsffi.WithResilience(retryConfig))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := call(ctx, c, "gores.v1.Counter/Get", map[string]any{"id": "g", "fail_first": 2})
	if err != nil || r.n["g"] != 3 || fmt.Sprint(reply["previous"]) != "2" {
		t.Fatalf("retried Get: %v, %d runs, reply %v", err, r.n["g"], reply)
	}
	_, err = call(ctx, c, "gores.v1.Counter/Add", map[string]any{"id": "a", "fail_first": 1})
	if hmsffi.CodeOf(err) != hmsffi.Unavailable || r.n["a"] != 1 {
		t.Fatalf("Add is not idempotent and must not be retried: %v, %d runs", err, r.n["a"])
	}
	for _, bad := range []any{`{"serviceConfig": {"methodConfg": []}}`, `{"backoff": `, map[string]any{"x": func() {}}} {
		if _, err := hmsffi.Connect(ctx, uri, hmsffi.WithResilience(bad)); hmsffi.CodeOf(err) != hmsffi.InvalidArgument {
			t.Errorf("options %v: got %v, want InvalidArgument", bad, err)
		}
	}
}

func TestAServedServiceConfigRetriesForAClientGivenNone(t *testing.T) {
	r := &runs{n: map[string]int{}}
	uri := "unix://" + filepath.Join(t.TempDir(), "served.sock")
	srv := newCounter(t, "gores.v1", "one", r, hmsffi.WithServiceConfig(retryConfig["serviceConfig"]))
	if _, err := srv.Listen(uri); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := hmsffi.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	reply, err := call(ctx, c, "gores.v1.Counter/Get", map[string]any{"id": "s", "fail_first": 1})
	if err != nil || r.n["s"] != 2 || fmt.Sprint(reply["previous"]) != "1" {
		t.Fatalf("Get by the served policy: %v, %d runs, reply %v", err, r.n["s"], reply)
	}
	// A config given at connect wins: this one has no retry policy.
	own := `{"serviceConfig": {"methodConfig": [{"name": [{}], "timeout": "5s"}]}}`
	plain, err := hmsffi.Connect(ctx, uri, hmsffi.WithResilience(own))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	_, err = call(ctx, plain, "gores.v1.Counter/Get", map[string]any{"id": "o", "fail_first": 1})
	if hmsffi.CodeOf(err) != hmsffi.Unavailable || r.n["o"] != 1 {
		t.Fatalf("the given config must win: %v, %d runs", err, r.n["o"])
	}
	schema, err := hmsffi.SchemaFromSource("res.proto", fmt.Sprintf(resProto, "gores.v1"))
	if err != nil {
		t.Fatal(err)
	}
	bad := `{"methodConfig": [{"name": [{}], "retryPolicy": {"maxAttempts": 1}}]}`
	for _, config := range []any{bad, `{"methodConfig": `, map[string]any{"x": func() {}}} {
		if _, err := hmsffi.NewServer(schema, hmsffi.WithServiceConfig(config)); hmsffi.CodeOf(err) != hmsffi.InvalidArgument {
			t.Errorf("service config %v: got %v, want InvalidArgument", config, err)
		}
	}
}

func TestAClientReconnectsAndWaitsForReady(t *testing.T) {
	r := &runs{n: map[string]int{}}
	uri := "unix://" + filepath.Join(t.TempDir(), "r.sock")
	first := counterServer(t, "gores.v1", "one", uri, r)
	ctx := context.Background()
	fast := `{"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}, "waitForReady": true}`
	c, err := hmsffi.Connect(ctx, uri, hmsffi.WithResilience(fast))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.State() != "ready" {
		t.Fatalf("state %q", c.State())
	}
	first.Shutdown(ctx)
	two := newCounter(t, "gores.v1", "two", r)
	listened := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		_, err := two.Listen(uri)
		listened <- err
	}()
	// Every call waits for a connection ("waitForReady": true) instead of failing at once.
	reply, err := call(ctx, c, "gores.v1.Counter/Add", map[string]any{"id": "c"})
	if err := <-listened; err != nil {
		t.Fatal(err)
	}
	if err != nil || reply["server"] != "two" {
		t.Fatalf("after the restart: %v %v", reply, err)
	}
	eps, err := c.Endpoints()
	if err != nil || len(eps) != 1 || eps[0] != (hmsffi.EndpointStatus{URI: uri, State: "ready", Connected: uri}) {
		t.Fatalf("endpoints %+v %v", eps, err)
	}
	c.Close()
	if c.State() != "shutdown" {
		t.Fatalf("closed: state %q", c.State())
	}
}

// Per call (issue 23): without WaitForReady a call fails Unavailable at once while there is no
// server; with it, it waits for the server that listens later, or until its deadline.
func TestACallWaitsForReadyWhenItAsksTo(t *testing.T) {
	r := &runs{n: map[string]int{}}
	uri := "unix://" + filepath.Join(t.TempDir(), "w.sock")
	first := counterServer(t, "gores.v1", "one", uri, r)
	ctx := context.Background()
	fast := `{"backoff": {"initial": "0.02s", "max": "0.1s", "minConnectTimeout": "1s"}}`
	c, err := hmsffi.Connect(ctx, uri, hmsffi.WithResilience(fast))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first.Shutdown(ctx)
	waitFor := func(timeout time.Duration, id string, opts ...hmsffi.CallOption) (map[string]any, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var reply map[string]any
		err := c.Call(ctx, "gores.v1.Counter/Add", map[string]any{"id": id}, &reply, opts...)
		return reply, err
	}
	start := time.Now()
	if _, err := waitFor(10*time.Second, "f"); hmsffi.CodeOf(err) != hmsffi.Unavailable || time.Since(start) > 5*time.Second {
		t.Fatalf("without a server: %v after %v", err, time.Since(start))
	}
	two := newCounter(t, "gores.v1", "two", r)
	listened := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := two.Listen(uri)
		listened <- err
	}()
	reply, err := waitFor(10*time.Second, "w", hmsffi.WaitForReady(true))
	if err := <-listened; err != nil {
		t.Fatal(err)
	}
	if err != nil || reply["server"] != "two" {
		t.Fatalf("waiting for ready: %v %v", reply, err)
	}
	two.Shutdown(ctx)
	// Once the client saw its connection go (a call written to it just before could not know).
	for i := 0; i < 500 && c.State() == "ready"; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := waitFor(300*time.Millisecond, "d", hmsffi.WaitForReady(true)); hmsffi.CodeOf(err) != hmsffi.DeadlineExceeded {
		t.Fatalf("no server until the deadline: %v", err)
	}
}

func TestSeveralEndpointsAreBalancedRoundRobin(t *testing.T) {
	r := &runs{n: map[string]int{}}
	dir := t.TempDir()
	uris := []string{"unix://" + filepath.Join(dir, "a.sock"), "unix://" + filepath.Join(dir, "b.sock")}
	counterServer(t, "gores.v1", "one", uris[0], r)
	counterServer(t, "gores.v1", "two", uris[1], r)
	ctx := context.Background()
	c, err := hmsffi.ConnectAll(ctx, uris, hmsffi.WithResilience(`{"loadBalancing": "round_robin"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := map[any]bool{}
	for i := 0; i < 6; i++ {
		reply, err := call(ctx, c, "gores.v1.Counter/Get", map[string]any{"id": fmt.Sprint("rr", i)})
		if err != nil {
			t.Fatal(err)
		}
		seen[reply["server"]] = true
	}
	if !seen["one"] || !seen["two"] {
		t.Fatalf("servers reached: %v", seen)
	}
	if _, err := hmsffi.ConnectAll(ctx, nil); hmsffi.CodeOf(err) != hmsffi.InvalidArgument {
		t.Fatalf("no endpoints: %v", err)
	}
}

func TestServerAdminServesMetricsHealthAndThePage(t *testing.T) {
	r := &runs{n: map[string]int{}}
	uri := "unix://" + filepath.Join(t.TempDir(), "m.sock")
	srv := counterServer(t, "goadmin.v1", "one", uri, r)
	admin, err := srv.Admin("http://127.0.0.1:0")
	if err != nil || !strings.HasPrefix(admin, "http://127.0.0.1:") {
		t.Fatalf("admin %q %v", admin, err)
	}
	if _, err := srv.Admin("ftp://nowhere"); hmsffi.CodeOf(err) != hmsffi.InvalidArgument {
		t.Fatalf("bad admin URI: %v", err)
	}
	ctx := context.Background()
	c, err := hmsffi.Connect(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const get = "goadmin.v1.Counter/Get"
	for i := 0; i < 3; i++ {
		if _, err := call(ctx, c, get, map[string]any{"id": fmt.Sprint("m", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := call(ctx, c, get, map[string]any{"id": "bad", "fail_first": 1}); hmsffi.CodeOf(err) != hmsffi.Unavailable {
		t.Fatalf("failing call: %v", err)
	}
	fetch := func(path string) (int, string) {
		hc := http.Client{Timeout: 10 * time.Second}
		res, err := hc.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	status, text := fetch("/metrics")
	want := fmt.Sprintf(`grpc_server_call_started_total{grpc_method="%s",hms_transport="unix"} 4`, get)
	if status != 200 || !strings.Contains(text, want) {
		t.Fatalf("/metrics %d lacks %q:\n%s", status, want, text)
	}
	if status, text := fetch("/healthz"); status != 200 || text != "ok\n" {
		t.Fatalf("/healthz %d %q", status, text)
	}
	if _, page := fetch("/"); !strings.Contains(page, "<title>hms-ffi monitor</title>") {
		t.Fatalf("page:\n%s", page)
	}
	_, body := fetch("/api/stats")
	var stats struct {
		Methods []struct {
			Method, Side string
			Started      int
			Finished     map[string]int
		}
	}
	if err := json.Unmarshal([]byte(body), &stats); err != nil {
		t.Fatal(err)
	}
	for _, row := range stats.Methods {
		if row.Method == get && row.Side == "server" {
			if row.Started != 4 || row.Finished["OK"] != 3 || row.Finished["UNAVAILABLE"] != 1 {
				t.Fatalf("row %+v", row)
			}
			return
		}
	}
	t.Fatalf("no server row for %s in %s", get, body)
}
