package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// StreamCase is one streaming vector (tests/conformance/streams/streams.json).
type StreamCase struct {
	Name, Method string
	Requests     []map[string]any
	Timeout      time.Duration
	// CancelAfter cancels the call after this many replies (0: never).
	CancelAfter int
	Expect      map[string]any
}

// LoadStreamCases reads the streaming vectors.
func LoadStreamCases() ([]StreamCase, error) {
	raw, err := os.ReadFile(filepath.Join(Root(), "tests", "conformance", "streams", "streams.json"))
	if err != nil {
		return nil, err
	}
	cases, err := readCases(raw)
	if err != nil {
		return nil, err
	}
	var out []StreamCase
	for _, c := range cases {
		sc := StreamCase{Name: c["name"].(string), Method: c["method"].(string),
			Timeout: millisOr(c["timeout_ms"], 30*time.Second), Expect: c["expect"].(map[string]any)}
		if n, ok := c["cancel_after_replies"].(json.Number); ok {
			k, _ := n.Int64()
			sc.CancelAfter = int(k)
		}
		for _, r := range c["requests"].([]any) {
			sc.Requests = append(sc.Requests, Notation(r).(map[string]any))
		}
		out = append(out, sc)
	}
	return out, nil
}

// ServerStreams tells whether the server serves streams (a binding without them answers
// Unimplemented).
func ServerStreams(client *hmsffi.Client) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := map[string]any{"counts": map[string]any{"repeat": int64(0)}}
	for _, err := range client.ServerStream(ctx, Service+"/ServerStream", req) {
		return hmsffi.CodeOf(err) != hmsffi.Unimplemented
	}
	return true
}

// CheckStream runs one streaming case as a client; "" when it passes.
func CheckStream(c StreamCase, client *hmsffi.Client) string {
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()
	started := time.Now()
	s, err := client.Stream(ctx, c.Method)
	if err != nil {
		return fmt.Sprintf("cannot open the stream: %v", err)
	}
	// Requests go from their own goroutine while replies are read (bidi interleaves).
	sent := make(chan error, 1)
	go func() {
		for _, r := range c.Requests {
			if err := s.Send(r); err != nil {
				// A request that cannot be sent ends the call; its error is the outcome.
				s.Cancel()
				sent <- err
				return
			}
		}
		sent <- s.CloseSend()
	}()
	var replies []map[string]any
	for reply, rerr := range s.All() {
		if rerr != nil {
			err = rerr
			break
		}
		replies = append(replies, reply)
		if len(replies) == c.CancelAfter {
			s.Cancel()
		}
	}
	if serr := <-sent; serr != nil {
		err = serr
	}
	return checkStreamOutcome(c, replies, err, time.Since(started))
}

func checkStreamOutcome(c StreamCase, replies []map[string]any, err error, took time.Duration) string {
	if exp, ok := c.Expect["error"].(map[string]any); ok {
		if err == nil {
			return fmt.Sprintf("expected %s, the stream ended with %d replies", exp["code"], len(replies))
		}
		if why := checkError(err, exp); why != "" {
			return why
		}
	} else if err != nil {
		return fmt.Sprintf("expected the stream to end, got %v", err)
	}
	if c.CancelAfter > 0 && took > 5*time.Second {
		return "a cancelled stream did not end promptly"
	}
	if n, ok := c.Expect["count"].(json.Number); ok {
		if want, _ := n.Int64(); int64(len(replies)) != want {
			return fmt.Sprintf("%d replies, expected %d", len(replies), want)
		}
	}
	if want, ok := c.Expect["replies"].([]any); ok {
		if len(replies) != len(want) {
			return fmt.Sprintf("%d replies, expected %d", len(replies), len(want))
		}
		for i, w := range want {
			if why := Same(replies[i], Notation(w), fmt.Sprintf("[%d]", i)); why != "" {
				return why
			}
		}
	}
	return ""
}

// RunStreams runs every streaming case as a client, printing FAIL lines, or one SKIP line when
// the server does not stream; it returns the counts.
func RunStreams(client *hmsffi.Client) (passed, failed, skipped int) {
	cases, err := LoadStreamCases()
	if err != nil {
		fmt.Println("FAIL streams.json:", err)
		return 0, 1, 0
	}
	if !ServerStreams(client) {
		fmt.Printf("SKIP streams: the server answers UNIMPLEMENTED (its binding does not stream yet); %d cases\n", len(cases))
		return 0, 0, len(cases)
	}
	for _, c := range cases {
		if why := CheckStream(c, client); why != "" {
			failed++
			fmt.Printf("FAIL streams/%s: %s\n", c.Name, why)
		} else {
			passed++
		}
	}
	return passed, failed, 0
}
