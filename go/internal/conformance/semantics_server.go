package conformance

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// SemService is the call-semantics service name.
const SemService = "hms.conformance.v1.Semantics"

// failError is Conformance/Fail's error: the code, message and violations asked for, and an
// ErrorInfo when a reason is given (tests/conformance/README.md).
func failError(req map[string]any) error {
	code, ok := hmsffi.CodeFromName(req["code"].(string))
	if !ok {
		code = hmsffi.Unknown
	}
	var violations []hmsffi.FieldViolation
	paths, _ := req["violation_paths"].([]any)
	for _, p := range paths {
		violations = append(violations, hmsffi.FieldViolation{Field: p.(string), Description: "rejected by the handler"})
	}
	e := hmsffi.NewError(code, req["message"].(string), violations...)
	if reason, _ := req["reason"].(string); reason != "" {
		e.Reason, e.Domain, e.InfoMetadata = reason, "conformance.example", map[string]string{"case": reason}
	}
	return e
}

// semContext serves Semantics/Context.
func semContext(ctx context.Context, req map[string]any) (map[string]any, error) {
	for key, set := range map[string]func(context.Context, string, string) error{
		"set_headers": hmsffi.SetHeader, "set_trailers": hmsffi.SetTrailer,
	} {
		entries, _ := req[key].(map[string]any)
		for k, v := range entries {
			if err := set(ctx, k, v.(string)); err != nil {
				return nil, err
			}
		}
	}
	if name, _ := req["fail_code"].(string); name != "" {
		code, ok := hmsffi.CodeFromName(name)
		if !ok {
			code = hmsffi.Unknown
		}
		msg, _ := req["fail_message"].(string)
		return nil, hmsffi.NewError(code, msg)
	}
	if n, _ := req["nest_reply"].(int64); n > 0 {
		return map[string]any{"nested": NestList(int(n))}, nil
	}
	info, _ := hmsffi.CallInfoFromContext(ctx)
	md := map[string]any{}
	for k, v := range info.Metadata() {
		if strings.HasPrefix(k, "x-conf-") && len(v) > 0 {
			md[k] = v[0]
		}
	}
	_, hasDeadline := ctx.Deadline()
	return map[string]any{"method": info.Method(), "metadata": md, "has_deadline": hasDeadline,
		"has_trace_id": info.TraceID() != ""}, nil
}

// relay serves Semantics/Relay: it calls Fail on the target and returns its error unchanged.
type relay struct {
	mu      sync.Mutex
	clients map[string]*hmsffi.Client
}

func (r *relay) client(ctx context.Context, uri string) (*hmsffi.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[uri]; ok {
		return c, nil
	}
	c, err := hmsffi.Connect(ctx, uri)
	if err != nil {
		return nil, err
	}
	r.clients[uri] = c
	return c, nil
}

func (r *relay) serve(ctx context.Context, req map[string]any) (map[string]any, error) {
	client, err := r.client(ctx, req["target"].(string))
	if err != nil {
		return nil, err
	}
	var reply map[string]any
	if err := client.Call(ctx, Service+"/Fail", req["fail"], &reply); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func registerSemantics(srv *hmsffi.Server) error {
	if err := srv.Handle(SemService+"/Context", semContext); err != nil {
		return err
	}
	if err := registerRevision(srv); err != nil {
		return err
	}
	r := &relay{clients: map[string]*hmsffi.Client{}}
	return srv.Handle(SemService+"/Relay", r.serve)
}

// registerRevision serves tests/conformance/revision.proto as the revision conformance-rev,
// whose Echo fails with ABORTED "revision <unicode_text>".
func registerRevision(srv *hmsffi.Server) error {
	schema, err := hmsffi.LoadSchema(filepath.Join(Root(), "tests", "conformance", "revision.proto"))
	if err != nil {
		return err
	}
	if _, err := srv.AddRevision("conformance-rev", schema); err != nil {
		return err
	}
	rev, err := srv.Revision("conformance-rev")
	if err != nil {
		return err
	}
	return rev.Handle(Service+"/Echo", func(_ context.Context, req map[string]any) (map[string]any, error) {
		return nil, hmsffi.NewError(hmsffi.Aborted, fmt.Sprintf("revision %v", req["unicode_text"]))
	})
}
