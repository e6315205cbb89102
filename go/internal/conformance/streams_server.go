package conformance

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

func aborted(sent int) error {
	return hmsffi.NewError(hmsffi.Aborted, fmt.Sprintf("failed after %d replies", sent))
}

func count(counts map[string]any, key string, def int64) (int64, bool) {
	if v, ok := counts[key].(int64); ok {
		return v, true
	}
	return def, false
}

// with is req with weight_mg set to i.
func with(req map[string]any, i int64) map[string]any {
	out := maps.Clone(req)
	out["weight_mg"] = i
	return out
}

// registerStreams serves ServerStream, ClientStream and Bidi as tests/conformance/README.md
// ("Streaming") specifies them.
func registerStreams(srv *hmsffi.Server) error {
	err := srv.HandleServerStream(Service+"/ServerStream", func(ctx context.Context, req map[string]any, send func(map[string]any) error) error {
		counts, _ := req["counts"].(map[string]any)
		repeat, _ := count(counts, "repeat", 3)
		failAfter, fails := count(counts, "fail_after", 0)
		sleep, _ := count(counts, "sleep_ms", 0)
		for i := int64(0); i < repeat; i++ {
			if fails && i == failAfter {
				return aborted(int(i))
			}
			select {
			case <-time.After(time.Duration(sleep) * time.Millisecond):
			case <-ctx.Done():
				return hmsffi.NewError(hmsffi.Canceled, "cancelled while streaming")
			}
			if err := send(with(req, i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = srv.HandleClientStream(Service+"/ClientStream", func(ctx context.Context, reqs iter.Seq2[map[string]any, error]) (map[string]any, error) {
		last, n := map[string]any{}, int64(0)
		for req, err := range reqs {
			if err != nil {
				return nil, err
			}
			last, n = req, n+1
		}
		return with(last, n), nil
	})
	if err != nil {
		return err
	}
	return srv.HandleBidiStream(Service+"/Bidi", func(ctx context.Context, stream *hmsffi.ServerStream) error {
		i := 0
		for req, err := range stream.All() {
			if err != nil {
				return err
			}
			if counts, _ := req["counts"].(map[string]any); counts["fail"] != nil {
				return aborted(i)
			}
			if err := stream.Send(with(req, int64(i))); err != nil {
				return err
			}
			i++
		}
		return nil
	})
}
