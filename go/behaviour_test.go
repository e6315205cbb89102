package hmsffi_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/hms-ffi/hms-ffi/go/internal/conformance"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const echo = conformance.Service + "/Echo"

func TestErrorsAreTypedAndKeepDetails(t *testing.T) {
	for transport, uri := range endpoints(t) {
		serve(t, uri)
		c := connect(t, uri)
		var reply map[string]any
		err := c.Call(context.Background(), echo, map[string]any{"items": []any{map[string]any{}, map[string]any{"price": "x"}}, "nope": 1}, &reply)
		var e *hmsffi.Error
		if !errors.As(err, &e) || e.Code() != hmsffi.InvalidArgument {
			t.Fatalf("%s: got %v", transport, err)
		}
		paths := map[string]bool{}
		for _, v := range e.FieldViolations {
			paths[v.Field] = true
		}
		if !paths["items[1].price"] || !paths["nope"] {
			t.Errorf("%s: violations %v", transport, e.FieldViolations)
		}
		err = c.Call(context.Background(), conformance.Service+"/Fail", map[string]any{"code": "NOT_FOUND", "message": "gone"}, &reply)
		if hmsffi.CodeOf(err) != hmsffi.NotFound || !errors.Is(err, hmsffi.NewError(hmsffi.NotFound, "")) {
			t.Errorf("%s: got %v", transport, err)
		}
		if errors.As(err, &e); e.Origin == nil || e.Origin.Language != "go" || e.Origin.Method != "Fail" {
			t.Errorf("%s: origin %+v", transport, e.Origin)
		}
		if err := c.Call(context.Background(), "no.Such/Method", map[string]any{}, &reply); hmsffi.CodeOf(err) != hmsffi.Unimplemented {
			t.Errorf("%s: got %v", transport, err)
		}
	}
}

func TestAReturnedErrorFromAnotherServiceKeepsItsDetailsAndOrigin(t *testing.T) {
	upstream := endpoints(t)["unix"]
	serve(t, upstream)
	up := connect(t, upstream)
	schema, err := hmsffi.LoadSchema(conformance.Proto())
	if err != nil {
		t.Fatal(err)
	}
	fail := map[string]any{"code": "INVALID_ARGUMENT", "message": "bad order", "violation_paths": []any{"items[2].price"}}
	relay, _ := hmsffi.NewServer(schema)
	defer relay.Shutdown(context.Background())
	err = relay.Handle(echo, func(ctx context.Context, req map[string]any) (map[string]any, error) {
		var reply map[string]any
		err := up.Call(ctx, conformance.Service+"/Fail", fail, &reply)
		return reply, err
	})
	if err != nil {
		t.Fatal(err)
	}
	uri := fmt.Sprintf("inproc://go-relay-%d", counter.Add(1))
	if _, err := relay.Listen(uri); err != nil {
		t.Fatal(err)
	}
	var direct, relayed *hmsffi.Error
	var reply map[string]any
	if err := up.Call(context.Background(), conformance.Service+"/Fail", fail, &reply); !errors.As(err, &direct) {
		t.Fatalf("upstream: got %v", err)
	}
	if err := connect(t, uri).Call(context.Background(), echo, map[string]any{}, &reply); !errors.As(err, &relayed) {
		t.Fatalf("relay: got %v", err)
	}
	if relayed.Code() != hmsffi.InvalidArgument || relayed.Message() != "bad order" ||
		relayed.Origin == nil || *relayed.Origin != *direct.Origin || relayed.Origin.Method != "Fail" ||
		len(relayed.FieldViolations) != 1 || relayed.FieldViolations[0] != direct.FieldViolations[0] {
		t.Errorf("relayed %+v (origin %+v), upstream %+v (origin %+v)", relayed, relayed.Origin, direct, direct.Origin)
	}
}

func TestPanicIsInternalAndServerKeepsServing(t *testing.T) {
	schema, err := hmsffi.LoadSchema(conformance.Proto())
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := hmsffi.NewServer(schema)
	defer srv.Shutdown(context.Background())
	err = srv.Handle(echo, func(ctx context.Context, req map[string]any) (map[string]any, error) {
		if req["unicode_text"] == "boom" {
			panic("boom requested")
		}
		return req, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	uri := endpoints(t)["unix"]
	if _, err := srv.Listen(uri); err != nil {
		t.Fatal(err)
	}
	c := connect(t, uri)
	var reply map[string]any
	err = c.Call(context.Background(), echo, map[string]any{"unicode_text": "boom"}, &reply)
	var e *hmsffi.Error
	if !errors.As(err, &e) || e.Code() != hmsffi.Internal || !strings.Contains(e.Message(), "boom requested") || len(e.Stack) == 0 {
		t.Fatalf("got %v (%+v)", err, e)
	}
	if err := c.Call(context.Background(), echo, map[string]any{"unicode_text": "ok"}, &reply); err != nil || reply["unicode_text"] != "ok" {
		t.Fatalf("server stopped serving: %v %v", err, reply)
	}
}

func TestContextCancellationReachesTheHandler(t *testing.T) {
	schema, _ := hmsffi.LoadSchema(conformance.Proto())
	srv, _ := hmsffi.NewServer(schema)
	defer srv.Shutdown(context.Background())
	cancelled := make(chan struct{})
	var once sync.Once // the second call below ends in the handler too
	srv.Handle(conformance.Service+"/Sleep", func(ctx context.Context, req map[string]any) (map[string]any, error) {
		<-ctx.Done()
		once.Do(func() { close(cancelled) })
		return nil, ctx.Err()
	})
	uri := endpoints(t)["unix"]
	srv.Listen(uri)
	c := connect(t, uri)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	var reply map[string]any
	if err := c.Call(ctx, conformance.Service+"/Sleep", map[string]any{"millis": 10000}, &reply); hmsffi.CodeOf(err) != hmsffi.Canceled {
		t.Fatalf("got %v", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context was not cancelled")
	}
	deadline, stop := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer stop()
	if err := c.Call(deadline, conformance.Service+"/Sleep", map[string]any{"millis": 10000}, &reply); hmsffi.CodeOf(err) != hmsffi.DeadlineExceeded {
		t.Fatalf("got %v", err)
	}
}

// The only call in flight blocks on its goroutine's thread; a call made while another is in
// flight waits on a channel instead. Both end with their context, and both reach the handler.
func TestCancellationWithCallsInFlight(t *testing.T) {
	schema, _ := hmsffi.LoadSchema(conformance.Proto())
	srv, _ := hmsffi.NewServer(schema)
	defer srv.Shutdown(context.Background())
	var ended sync.WaitGroup
	ended.Add(2)
	srv.Handle(conformance.Service+"/Sleep", func(ctx context.Context, req map[string]any) (map[string]any, error) {
		defer ended.Done()
		<-ctx.Done()
		return nil, ctx.Err()
	})
	uri := endpoints(t)["unix"]
	srv.Listen(uri)
	c := connect(t, uri)
	first, cancelFirst := context.WithCancel(context.Background())
	second, cancelSecond := context.WithCancel(context.Background())
	results := make(chan error, 2)
	for _, ctx := range []context.Context{first, second} {
		go func(ctx context.Context) {
			var reply map[string]any
			results <- c.Call(ctx, conformance.Service+"/Sleep", map[string]any{"millis": 10000}, &reply)
		}(ctx)
		time.Sleep(100 * time.Millisecond) // the first is in flight before the second starts
	}
	// The next call to end must end CANCELLED, within 5 s.
	endsCancelled := func(which string) {
		select {
		case err := <-results:
			if hmsffi.CodeOf(err) != hmsffi.Canceled {
				t.Fatalf("the %s call: %v", which, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the %s call did not end when cancelled", which)
		}
	}
	cancelSecond()
	endsCancelled("second")
	cancelFirst()
	endsCancelled("first")
	done := make(chan struct{})
	go func() { ended.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a handler's context was not cancelled")
	}
}

// Generated protobuf types (here the well-known wrappers) go through the proto path.
func TestProtoMessages(t *testing.T) {
	schema, err := hmsffi.SchemaFromSource("upper.proto", `syntax = "proto3"; package demo.v1;
		import "google/protobuf/wrappers.proto";
		service Text { rpc Upper(google.protobuf.StringValue) returns (google.protobuf.StringValue); }`)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := hmsffi.NewServer(schema)
	defer srv.Shutdown(context.Background())
	err = hmsffi.HandleProto(srv, "demo.v1.Text/Upper", func(ctx context.Context, req *wrapperspb.StringValue) (proto.Message, error) {
		return wrapperspb.String(strings.ToUpper(req.GetValue())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	uri := endpoints(t)["inproc"]
	srv.Listen(uri)
	c := connect(t, uri)
	reply := &wrapperspb.StringValue{}
	if err := c.Call(context.Background(), "demo.v1.Text/Upper", wrapperspb.String("ada"), reply); err != nil || reply.GetValue() != "ADA" {
		t.Fatalf("%v %v", err, reply)
	}
	methods, err := c.Methods()
	if err != nil || len(methods) != 1 || methods[0].Name != "demo.v1.Text/Upper" || methods[0].Kind != "unary" {
		t.Fatalf("%v %+v", err, methods)
	}
}

// Many goroutines call one client; handlers run concurrently (run with -race).
func TestConcurrentCalls(t *testing.T) {
	uri := endpoints(t)["unix"]
	serve(t, uri)
	c := connect(t, uri)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				var reply map[string]any
				n := int64(g*1000 + i)
				if err := c.Call(context.Background(), echo, map[string]any{"weight_mg": n}, &reply); err != nil || reply["weight_mg"] != n {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestTypes(t *testing.T) {
	uri := endpoints(t)["inproc"]
	serve(t, uri)
	c := connect(t, uri)
	at := time.Date(2024, 2, 29, 12, 0, 0, 123456789, time.UTC)
	var reply map[string]any
	req := map[string]any{"at": at, "took": -1500 * time.Millisecond, "blob": []byte{0, 255}, "by_id": map[any]any{int64(7): map[string]any{"name": "x"}}, "color": "COLOR_RED"}
	if err := c.Call(context.Background(), echo, req, &reply); err != nil {
		t.Fatal(err)
	}
	if got := reply["at"].(time.Time); !got.Equal(at) {
		t.Errorf("at %v", got)
	}
	if reply["took"] != -1500*time.Millisecond || string(reply["blob"].([]byte)) != "\x00\xff" || reply["color"] != "COLOR_RED" {
		t.Errorf("reply %v", reply)
	}
	if byID := reply["by_id"].(map[any]any); byID[int64(7)].(map[string]any)["name"] != "x" {
		t.Errorf("by_id %v", byID)
	}
}

// gRPC transports, with the schema given (as for a stock gRPC server without discovery).
func TestGrpcWithSchema(t *testing.T) {
	uri := "grpc://127.0.0.1:0"
	srv, err := conformance.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	bound, err := srv.Listen(uri)
	if err != nil || !strings.HasPrefix(bound, "grpc://127.0.0.1:") {
		t.Fatalf("%v %q", err, bound)
	}
	schema, _ := hmsffi.LoadSchema(conformance.Proto())
	c, err := hmsffi.Connect(context.Background(), bound, hmsffi.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var reply map[string]any
	if err := c.Call(context.Background(), echo, map[string]any{"unicode_text": "over grpc"}, &reply); err != nil || reply["unicode_text"] != "over grpc" {
		t.Fatalf("%v %v", err, reply)
	}
	err = c.Call(context.Background(), conformance.Service+"/Fail", map[string]any{"code": "INVALID_ARGUMENT", "message": "m", "violation_paths": []any{"p.q"}}, &reply)
	var e *hmsffi.Error
	if !errors.As(err, &e) || e.Code() != hmsffi.InvalidArgument || len(e.FieldViolations) != 1 || e.FieldViolations[0].Field != "p.q" {
		t.Fatalf("%v %+v", err, e)
	}
}

// A handler returning a context error keeps its gRPC code instead of becoming INTERNAL.
func TestHandlerContextErrorsKeepTheirCode(t *testing.T) {
	schema, _ := hmsffi.LoadSchema(conformance.Proto())
	srv, _ := hmsffi.NewServer(schema)
	defer srv.Shutdown(context.Background())
	srv.Handle(echo, func(ctx context.Context, req map[string]any) (map[string]any, error) {
		return nil, context.DeadlineExceeded
	})
	uri := endpoints(t)["inproc"]
	srv.Listen(uri)
	c := connect(t, uri)
	var reply map[string]any
	if err := c.Call(context.Background(), echo, map[string]any{}, &reply); hmsffi.CodeOf(err) != hmsffi.DeadlineExceeded {
		t.Fatalf("got %v", err)
	}
}
