package hmsffi_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/hms-ffi/hms-ffi/go/internal/conformance"
)

const (
	batchEcho  = conformance.Service + "/EchoScalars"
	batchSleep = conformance.Service + "/Sleep"
	batchFail  = conformance.Service + "/Fail"
)

// batchClient serves the conformance server over unix and connects to it.
func batchClient(t *testing.T) *hmsffi.Client {
	t.Helper()
	uri := "unix://" + filepath.Join(t.TempDir(), "batch.sock")
	serve(t, uri)
	return connect(t, uri)
}

// echoCalls is n calls of EchoScalars, call i's request {"int32_v": i}.
func echoCalls(n int) []hmsffi.BatchCall {
	calls := make([]hmsffi.BatchCall, n)
	for i := range calls {
		calls[i] = hmsffi.BatchCall{Method: batchEcho, Request: map[string]any{"int32_v": int64(i)}}
	}
	return calls
}

func codeOf(t *testing.T, err error) hmsffi.Code {
	t.Helper()
	var e *hmsffi.Error
	if !errors.As(err, &e) {
		t.Fatalf("not an *hmsffi.Error: %v", err)
	}
	return e.Code()
}

// A batch answers every call in order; a failed call (the handler's error, an unknown method,
// a request of the wrong type) is typed while the others succeed.
func TestBatchEntriesInOrderWithTypedFailures(t *testing.T) {
	client := batchClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	calls := echoCalls(200)
	calls[5] = hmsffi.BatchCall{Method: batchFail, Request: map[string]any{"code": "NOT_FOUND", "message": "gone"}}
	calls[6] = hmsffi.BatchCall{Method: conformance.Service + "/Nope", Request: map[string]any{}}
	calls[7] = hmsffi.BatchCall{Method: batchEcho, Request: map[string]any{"int32_v": "seven"}}
	results, err := client.Batch(ctx, calls)
	if err != nil || len(results) != 200 {
		t.Fatalf("%d results, %v", len(results), err)
	}
	want := map[int]hmsffi.Code{5: hmsffi.NotFound, 6: hmsffi.Unimplemented, 7: hmsffi.InvalidArgument}
	for i, r := range results {
		if code, failed := want[i]; failed {
			if got := codeOf(t, r.Err); got != code || r.Reply != nil {
				t.Errorf("entry %d: %v %v, want %v", i, got, r.Err, code)
			}
			continue
		}
		if r.Err != nil || r.Reply["int32_v"] != int64(i) {
			t.Errorf("entry %d: %v %v", i, r.Reply, r.Err)
		}
	}
	if !errors.Is(results[5].Err, hmsffi.NewError(hmsffi.NotFound, "")) {
		t.Errorf("errors.Is NotFound: %v", results[5].Err)
	}
	none, err := client.Batch(ctx, nil)
	if err != nil || len(none) != 0 {
		t.Errorf("empty batch: %v %v", none, err)
	}
}

// The context's deadline bounds the whole batch: the slow call ends DeadlineExceeded, the quick
// ones are answered.
func TestBatchOneDeadline(t *testing.T) {
	client := batchClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	results, err := client.Batch(ctx, []hmsffi.BatchCall{
		{Method: batchSleep, Request: map[string]any{"millis": int64(5000)}},
		{Method: batchEcho, Request: map[string]any{"int32_v": int64(1)}},
		{Method: batchSleep, Request: map[string]any{"millis": int64(10)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if code := codeOf(t, results[0].Err); code != hmsffi.DeadlineExceeded {
		t.Errorf("slow: %v", results[0].Err)
	}
	if results[1].Err != nil || results[1].Reply["int32_v"] != int64(1) {
		t.Errorf("quick: %v %v", results[1].Reply, results[1].Err)
	}
	if results[2].Err != nil {
		t.Errorf("short sleep: %v", results[2].Err)
	}
	if time.Since(start) > 4*time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

// Cancelling the context ends every call not finished with Canceled.
func TestBatchCancelledByContext(t *testing.T) {
	client := batchClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	time.AfterFunc(200*time.Millisecond, cancel)
	results, err := client.Batch(ctx, []hmsffi.BatchCall{
		{Method: batchEcho, Request: map[string]any{"int32_v": int64(1)}},
		{Method: batchSleep, Request: map[string]any{"millis": int64(10000)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if results[0].Err != nil {
		t.Errorf("finished call: %v", results[0].Err)
	}
	if code := codeOf(t, results[1].Err); code != hmsffi.Canceled {
		t.Errorf("cancelled call: %v", results[1].Err)
	}
}

// A batch of more than 100 000 calls is refused whole with InvalidArgument.
func TestBatchOversizedRefusedWhole(t *testing.T) {
	client := batchClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	calls := echoCalls(100001)
	results, err := client.Batch(ctx, calls)
	if code := codeOf(t, err); code != hmsffi.InvalidArgument || results != nil {
		t.Errorf("%v, %d results", err, len(results))
	}
}
