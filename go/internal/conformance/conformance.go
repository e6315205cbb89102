// Package conformance runs the shared conformance vectors (tests/conformance) from Go, as a
// client, and serves the conformance service, for the tests and the cross-language matrix.
package conformance

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// Root is the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Proto is the conformance schema's path.
func Proto() string { return filepath.Join(Root(), "tests", "conformance", "conformance.proto") }

// Service is the conformance service name.
const Service = "hms.conformance.v1.Conformance"

// Case is one vector.
type Case struct {
	File, Name, Method string
	Request            any
	Timeout            time.Duration
	Expect             map[string]any
}

// ID names a case as file/name.
func (c Case) ID() string { return strings.TrimSuffix(c.File, ".json") + "/" + c.Name }

// LoadCases reads every vector file.
func LoadCases() ([]Case, error) {
	files, err := filepath.Glob(filepath.Join(Root(), "tests", "conformance", "vectors", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Case
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		cases, err := readCases(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, c := range cases {
			out = append(out, Case{
				File: filepath.Base(f), Name: c["name"].(string), Method: c["method"].(string),
				Request: Notation(c["request"]), Timeout: millisOr(c["timeout_ms"], 30*time.Second),
				Expect: c["expect"].(map[string]any),
			})
		}
	}
	return out, nil
}

// readCases reads a vector file's cases, numbers kept exact.
func readCases(raw []byte) ([]map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var doc struct {
		Cases []map[string]any `json:"cases"`
	}
	err := dec.Decode(&doc)
	return doc.Cases, err
}

// millisOr is a case's number of milliseconds as a duration, or def when it has none.
func millisOr(v any, def time.Duration) time.Duration {
	if n, ok := v.(json.Number); ok {
		ms, _ := n.Int64()
		return time.Duration(ms) * time.Millisecond
	}
	return def
}

// Notation turns the vectors' value notation into Go natives.
func Notation(j any) any {
	switch x := j.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, v := range x {
				if strings.HasPrefix(k, "$") {
					return tagged(k[1:], v)
				}
			}
		}
		out := make(map[string]any, len(x))
		for k, v := range x {
			out[k] = Notation(v)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = Notation(v)
		}
		return out
	case json.Number:
		s := x.String()
		if strings.ContainsAny(s, ".eE") {
			f, _ := x.Float64()
			return f
		}
		return integer(s)
	}
	return j
}

func integer(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u
	}
	b, _ := new(big.Int).SetString(s, 10)
	return b
}

func tagged(tag string, v any) any {
	switch tag {
	case "int":
		return integer(v.(string))
	case "float":
		switch v.(string) {
		case "nan":
			return math.NaN()
		case "inf":
			return math.Inf(1)
		case "-inf":
			return math.Inf(-1)
		}
		f, _ := strconv.ParseFloat(v.(string), 64)
		return f
	case "bytes":
		b, _ := base64.StdEncoding.DecodeString(v.(string))
		return b
	case "bytes_fill":
		m := v.(map[string]any)
		b, _ := m["byte"].(json.Number).Int64()
		n, _ := m["len"].(json.Number).Int64()
		return []byte(strings.Repeat(string([]byte{byte(b)}), int(n)))
	case "string_fill":
		m := v.(map[string]any)
		n, _ := m["count"].(json.Number).Int64()
		return strings.Repeat(m["text"].(string), int(n))
	case "timestamp":
		t, err := time.Parse(time.RFC3339Nano, v.(string))
		if err != nil {
			panic(err)
		}
		return t.UTC()
	case "duration":
		return duration(v.(string))
	}
	panic("unknown notation tag $" + tag)
}

func duration(s string) any {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimSuffix(strings.TrimPrefix(s, "-"), "s")
	whole, frac, _ := strings.Cut(body, ".")
	secs, _ := strconv.ParseInt(whole, 10, 64)
	nanos, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if neg {
		secs, nanos = -secs, -nanos
	}
	if secs > math.MaxInt64/int64(time.Second)-1 || secs < -(math.MaxInt64/int64(time.Second)-1) {
		return hmsffi.LongDuration{Seconds: secs, Nanos: int32(nanos)}
	}
	return time.Duration(secs)*time.Second + time.Duration(nanos)
}

func keyText(k any) string { return fmt.Sprint(k) }

func number(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case int64:
		return big.NewInt(x), true
	case uint64:
		return new(big.Int).SetUint64(x), true
	case *big.Int:
		return x, true
	}
	return nil, false
}

// Same compares a reply with the expected value; "" when equal.
func Same(actual, expected any, path string) string {
	switch e := expected.(type) {
	case map[string]any:
		var entries map[string]any
		switch a := actual.(type) {
		case map[string]any:
			entries = a
		case map[any]any:
			entries = map[string]any{}
			for k, v := range a {
				entries[keyText(k)] = v
			}
		default:
			return fmt.Sprintf("at %s: got %#v, expected a map", path, actual)
		}
		if len(entries) != len(e) {
			return fmt.Sprintf("at %s: %d entries, expected %d", path, len(entries), len(e))
		}
		for k, v := range e {
			a, ok := entries[k]
			if !ok {
				return fmt.Sprintf("at %s: missing %s", path, k)
			}
			if why := Same(a, v, path+"."+k); why != "" {
				return why
			}
		}
		return ""
	case []any:
		a, ok := actual.([]any)
		if !ok || len(a) != len(e) {
			return fmt.Sprintf("at %s: got %#v, expected %#v", path, actual, expected)
		}
		for i := range e {
			if why := Same(a[i], e[i], fmt.Sprintf("%s[%d]", path, i)); why != "" {
				return why
			}
		}
		return ""
	case float64:
		if a, ok := actual.(float64); ok && (a == e || (math.IsNaN(a) && math.IsNaN(e))) {
			return ""
		}
	case time.Time:
		if a, ok := actual.(time.Time); ok && a.Equal(e) {
			return ""
		}
	case []byte:
		if a, ok := actual.([]byte); ok && string(a) == string(e) {
			return ""
		}
	default:
		if en, ok := number(expected); ok {
			if an, ok := number(actual); ok && an.Cmp(en) == 0 {
				return ""
			}
		} else if reflect.DeepEqual(actual, expected) {
			return ""
		}
	}
	return fmt.Sprintf("at %s: got %#v, expected %#v", path, actual, expected)
}

// Check runs one case as a client; "" when it passes.
func Check(ctx context.Context, c Case, client *hmsffi.Client) string {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var reply map[string]any
	err := client.Call(ctx, c.Method, c.Request, &reply)
	if want, ok := c.Expect["reply"]; ok {
		if err != nil {
			return fmt.Sprintf("expected a reply, got %v", err)
		}
		return Same(reply, Notation(want), "")
	}
	exp := c.Expect["error"].(map[string]any)
	if err == nil {
		return fmt.Sprintf("expected %s, got reply %v", exp["code"], reply)
	}
	return checkError(err, exp)
}

// checkError compares an error with a case's expected error; "" when it matches.
func checkError(err error, exp map[string]any) string {
	code, _ := hmsffi.CodeFromName(exp["code"].(string))
	if hmsffi.CodeOf(err) != code {
		return fmt.Sprintf("expected %s, got %v", code, err)
	}
	var e *hmsffi.Error
	if sub, ok := exp["message_contains"].(string); ok {
		if !strings.Contains(err.Error(), sub) {
			return fmt.Sprintf("message %q lacks %q", err.Error(), sub)
		}
	}
	if paths, ok := exp["violations"].([]any); ok {
		want := map[string]bool{}
		for _, p := range paths {
			want[p.(string)] = true
		}
		got := map[string]bool{}
		if ok := asError(err, &e); ok {
			for _, v := range e.FieldViolations {
				got[v.Field] = true
			}
		}
		if !reflect.DeepEqual(want, got) {
			return fmt.Sprintf("violations %v, expected %v (%v)", got, want, err)
		}
	}
	return ""
}

func asError(err error, target **hmsffi.Error) bool {
	e, ok := err.(*hmsffi.Error)
	if ok {
		*target = e
	}
	return ok
}

// NewServer serves the conformance service in Go.
func NewServer() (*hmsffi.Server, error) {
	schema, err := hmsffi.LoadSchema(Proto())
	if err != nil {
		return nil, err
	}
	srv, err := hmsffi.NewServer(schema)
	if err != nil {
		return nil, err
	}
	echo := func(ctx context.Context, req map[string]any) (map[string]any, error) { return req, nil }
	for _, m := range []string{"Echo", "EchoScalars"} {
		if err := srv.Handle(Service+"/"+m, echo); err != nil {
			return nil, err
		}
	}
	err = srv.Handle(Service+"/Fail", func(ctx context.Context, req map[string]any) (map[string]any, error) {
		return nil, failError(req)
	})
	if err == nil {
		err = registerSemantics(srv)
	}
	if err == nil {
		err = registerStreams(srv)
	}
	if err != nil {
		return nil, err
	}
	err = srv.Handle(Service+"/Sleep", func(ctx context.Context, req map[string]any) (map[string]any, error) {
		select {
		case <-time.After(time.Duration(req["millis"].(int64)) * time.Millisecond):
			return map[string]any{}, nil
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return nil, hmsffi.NewError(hmsffi.DeadlineExceeded, "sleep passed its deadline")
			}
			return nil, hmsffi.NewError(hmsffi.Canceled, "sleep cancelled")
		}
	})
	return srv, err
}
