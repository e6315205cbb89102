package hmsffi_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/hms-ffi/hms-ffi/go/internal/conformance"
)

const scalars = conformance.Service + "/EchoScalars"

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func hasMethod(methods []hmsffi.MethodInfo, name string) bool {
	for _, m := range methods {
		if m.Name == name {
			return true
		}
	}
	return false
}

func TestSecurityFilePolicyIdentityAndPeerCredentials(t *testing.T) {
	security := writeFile(t, "security.toml", `
[limits]
max_message_bytes = 2048
[policy]
[[policy.rule]]
identities = ["uid:*"]
deny = ["`+echo+`"]
`)
	schema, err := hmsffi.LoadSchema(conformance.Proto())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hmsffi.NewServer(schema, hmsffi.WithSecurity(security))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	type seen struct {
		identity string
		cred     hmsffi.PeerCredentials
		ok       bool
	}
	calls := make(chan seen, 4)
	var echoed atomic.Int32
	if err := srv.Handle(scalars, func(ctx context.Context, req map[string]any) (map[string]any, error) {
		info, ok := hmsffi.CallInfoFromContext(ctx)
		if !ok {
			return nil, errors.New("no call info in the handler's context")
		}
		cred, credOK := info.PeerCredentials()
		calls <- seen{info.Identity(), cred, credOK}
		return req, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Handle(echo, func(ctx context.Context, req map[string]any) (map[string]any, error) {
		echoed.Add(1)
		return req, nil
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	uri, err := srv.Listen("unix://" + filepath.Join(dir, "sec.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(dir, "sec.sock")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v %v", st, err)
	}
	// With a policy, discovery lists only what the caller may call; a client given the schema
	// reaches the server, which refuses the denied method.
	methods, err := connect(t, uri).Methods()
	if err != nil || !hasMethod(methods, scalars) || hasMethod(methods, echo) {
		t.Errorf("discovered %v, %v", methods, err)
	}
	c, err := hmsffi.Connect(context.Background(), uri, hmsffi.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var reply map[string]any
	if err := c.Call(context.Background(), scalars, map[string]any{"string_v": "hi"}, &reply); err != nil || reply["string_v"] != "hi" {
		t.Fatalf("allowed call: %v %v", reply, err)
	}
	got := <-calls
	want := seen{"uid:" + strconv.Itoa(os.Getuid()), hmsffi.PeerCredentials{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: int32(os.Getpid())}, true}
	if got != want {
		t.Errorf("handler saw %+v, want %+v", got, want)
	}
	err = c.Call(context.Background(), echo, map[string]any{"unicode_text": "no"}, &reply)
	var e *hmsffi.Error
	if !errors.As(err, &e) || e.Code() != hmsffi.PermissionDenied || e.Reason != "POLICY_DENIED" {
		t.Errorf("denied call: %v", err)
	}
	if echoed.Load() != 0 {
		t.Errorf("the denied handler ran %d times", echoed.Load())
	}
	err = c.Call(context.Background(), scalars, map[string]any{"string_v": strings.Repeat("x", 4096)}, &reply)
	if hmsffi.CodeOf(err) != hmsffi.ResourceExhausted {
		t.Errorf("oversized call: %v", err)
	}
	if len(calls) != 0 {
		t.Errorf("the oversized call reached the handler")
	}
}

func TestInprocCallersHaveNoIdentity(t *testing.T) {
	schema, err := hmsffi.LoadSchema(conformance.Proto())
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := hmsffi.NewServer(schema)
	defer srv.Shutdown(context.Background())
	_ = srv.Handle(scalars, func(ctx context.Context, req map[string]any) (map[string]any, error) {
		info, _ := hmsffi.CallInfoFromContext(ctx)
		if _, ok := info.PeerCredentials(); ok || info.Identity() != "" {
			return nil, hmsffi.NewError(hmsffi.FailedPrecondition, "inproc caller has "+info.Identity())
		}
		return req, nil
	})
	uri, err := srv.Listen("inproc://go-sec-inproc")
	if err != nil {
		t.Fatal(err)
	}
	var reply map[string]any
	if err := connect(t, uri).Call(context.Background(), scalars, map[string]any{}, &reply); err != nil {
		t.Error(err)
	}
	if _, ok := hmsffi.CallInfoFromContext(context.Background()); ok {
		t.Error("a plain context has call info")
	}
}

func TestBadSecurityFileIsInvalidArgument(t *testing.T) {
	schema, err := hmsffi.LoadSchema(conformance.Proto())
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"bad value":   "[policy]\ndefault_network = 'sometimes'\n",
		"unknown key": "[limits]\nmax_mesage_bytes = 10\n",
	} {
		_, err := hmsffi.NewServer(schema, hmsffi.WithSecurity(writeFile(t, "bad.toml", text)))
		var e *hmsffi.Error
		if !errors.As(err, &e) || e.Code() != hmsffi.InvalidArgument || e.Reason != "BAD_SECURITY_CONFIG" {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
