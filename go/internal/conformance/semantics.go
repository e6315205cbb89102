package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// SemCase is one call-semantics case (tests/conformance/semantics/calls.json).
type SemCase struct {
	Name, Method string
	Request      any
	Metadata     map[string]string
	Timeout      time.Duration // 0: no deadline
	CancelAfter  time.Duration // 0: not cancelled
	Closed       bool          // the call is made on a client closed first
	Expect       map[string]any
}

func semDir() string { return filepath.Join(Root(), "tests", "conformance", "semantics") }

func readJSON(path string, out any) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	return dec.Decode(out)
}

func millis(v any) time.Duration {
	n, _ := v.(json.Number).Int64()
	return time.Duration(n) * time.Millisecond
}

// LoadSemantics reads the call-semantics cases.
func LoadSemantics() ([]SemCase, error) {
	var doc struct {
		Cases []map[string]any `json:"cases"`
	}
	if err := readJSON(filepath.Join(semDir(), "calls.json"), &doc); err != nil {
		return nil, err
	}
	var out []SemCase
	for _, c := range doc.Cases {
		sc := SemCase{Name: c["name"].(string), Method: c["method"].(string), Request: c["request"],
			Expect: c["expect"].(map[string]any), Closed: c["client"] == "closed"}
		if md, ok := c["metadata"].(map[string]any); ok {
			sc.Metadata = map[string]string{}
			for k, v := range md {
				sc.Metadata[k] = v.(string)
			}
		}
		if t, ok := c["timeout_ms"]; ok {
			sc.Timeout = millis(t)
		}
		if t, ok := c["cancel_after_ms"]; ok {
			sc.CancelAfter = millis(t)
		}
		out = append(out, sc)
	}
	return out, nil
}

// Skips returns the written reasons for the cases language skips in role ("client", "server").
func Skips(language, role string) (map[string]string, error) {
	var doc map[string]map[string]map[string]string
	if err := readJSON(filepath.Join(semDir(), "skips.json"), &doc); err != nil {
		return nil, err
	}
	return doc[language][role], nil
}

// semRequest resolves "$self" (the endpoint) and {"$nest_list": N} (built without recursion),
// then the vectors' value notation.
func semRequest(j any, self string) any {
	switch x := j.(type) {
	case string:
		if x == "$self" {
			return self
		}
	case map[string]any:
		if n, ok := x["$nest_list"].(json.Number); ok && len(x) == 1 {
			depth, _ := n.Int64()
			return NestList(int(depth))
		}
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = semRequest(v, self)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = semRequest(v, self)
		}
		return out
	}
	return Notation(j)
}

// NestList is an empty list inside n lists, built iteratively.
func NestList(n int) []any {
	v := []any{}
	for i := 0; i < n; i++ {
		v = []any{v}
	}
	return v
}

// CheckSemantics runs one case as a client of uri; "" when it passes.
func CheckSemantics(c SemCase, client *hmsffi.Client, uri string) string {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if c.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	if c.Metadata != nil {
		ctx = hmsffi.WithMetadata(ctx, c.Metadata)
	}
	if c.CancelAfter > 0 {
		t := time.AfterFunc(c.CancelAfter, cancel)
		defer t.Stop()
	}
	if c.Closed {
		closed, err := hmsffi.Connect(context.Background(), uri)
		if err != nil {
			return "cannot connect a second client: " + err.Error()
		}
		closed.Close()
		client = closed
	}
	var reply map[string]any
	var headers, trailers hmsffi.MD
	err := client.Call(ctx, c.Method, semRequest(c.Request, uri), &reply, hmsffi.Header(&headers), hmsffi.Trailer(&trailers))
	if why := checkOutcome(c.Expect, reply, err); why != "" {
		return why
	}
	for key, got := range map[string]hmsffi.MD{"headers": headers, "trailers": trailers} {
		want, _ := c.Expect[key].(map[string]any)
		for k, v := range want {
			if got.Get(k) != v.(string) {
				return fmt.Sprintf("%s[%s] = %q, expected %q (all: %v)", key, k, got.Get(k), v, got)
			}
		}
	}
	return ""
}

func checkOutcome(expect map[string]any, reply map[string]any, err error) string {
	if want, ok := expect["reply"]; ok {
		if err != nil {
			return fmt.Sprintf("expected a reply, got %v", err)
		}
		return Same(reply, Notation(want), "")
	}
	exp := expect["error"].(map[string]any)
	code, _ := hmsffi.CodeFromName(exp["code"].(string))
	if err == nil {
		return fmt.Sprintf("expected %s, got reply %v", code, reply)
	}
	e, ok := err.(*hmsffi.Error)
	if !ok || e.Code() != code {
		return fmt.Sprintf("expected %s, got %v", code, err)
	}
	if sub, ok := exp["message_contains"].(string); ok && !strings.Contains(e.Message(), sub) {
		return fmt.Sprintf("message %q lacks %q", e.Message(), sub)
	}
	if paths, ok := exp["violations"].([]any); ok {
		var got []string
		for _, v := range e.FieldViolations {
			got = append(got, v.Field)
		}
		if fmt.Sprint(got) != fmt.Sprint(paths) {
			return fmt.Sprintf("violations %v, expected %v", got, paths)
		}
	}
	if reason, ok := exp["reason"].(string); ok && e.Reason != reason {
		return fmt.Sprintf("reason %q, expected %q (%v)", e.Reason, reason, err)
	}
	if origin, ok := exp["origin"].(map[string]any); ok {
		if e.Origin == nil || e.Origin.Service != origin["service"] || e.Origin.Method != origin["method"] {
			return fmt.Sprintf("origin %+v, expected %v", e.Origin, origin)
		}
	}
	return ""
}

// RunSemantics runs every case against uri, printing FAIL/SKIP lines and the summary (which
// adds the counts given); it returns the number of failures.
func RunSemantics(uri string, passed, failed, skipped int) int {
	cases, err := LoadSemantics()
	if err != nil {
		fmt.Println("FAIL calls.json:", err)
		return 1
	}
	skips, err := Skips("go", "client")
	if err != nil {
		fmt.Println("FAIL skips.json:", err)
		return 1
	}
	client, err := hmsffi.Connect(context.Background(), uri)
	if err != nil {
		fmt.Println("FAIL connect:", err)
		return 1
	}
	defer client.Close()
	for _, c := range cases {
		if reason, ok := skips[c.Name]; ok {
			skipped++
			fmt.Printf("SKIP semantics/%s: %s\n", c.Name, reason)
		} else if why := CheckSemantics(c, client, uri); why != "" {
			failed++
			fmt.Printf("FAIL semantics/%s: %s\n", c.Name, why)
		} else {
			passed++
		}
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return failed
}
