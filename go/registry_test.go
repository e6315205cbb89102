package hmsffi_test

// SchemaFromRegistry from Go (issue 21): a version of a schema named by a registry reference
// ("registry+URI#SUBJECT[@N|@latest|@sha256:…]"), fetched from a registry of the test's own (the
// CLI's `hms-ffi registry serve`, killed at the end) and checked by the core.

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

func registryServer(t *testing.T) string {
	t.Helper()
	target := os.Getenv("CARGO_TARGET_DIR")
	if target == "" {
		target, _ = filepath.Abs("../target")
	}
	cli := filepath.Join(target, "debug", "hms-ffi")
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("%s is missing: cargo build -p hms-ffi-cli (make test-go does)", cli)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "r.sock")
	uri := "unix://" + sock
	serve := exec.Command(cli, "registry", "serve", "--db", filepath.Join(dir, "r.db"), "--listen", uri)
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = serve.Process.Kill(); _ = serve.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hms-ffi registry serve did not start")
		}
	}
	for _, v := range []string{"shop_v1.proto", "shop_v2.proto"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, cli, "registry", "register", "--registry", uri, filepath.Join("..", "tests", "registry", v)).CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("registering %s: %v\n%s", v, err, out)
		}
	}
	return uri
}

// hasList is whether a server over s can serve shop.v1.Shop/List (version 2 added it).
func hasList(t *testing.T, s *hmsffi.Schema) bool {
	t.Helper()
	server, err := hmsffi.NewServer(s)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Shutdown(context.Background())
	echo := func(ctx context.Context, req map[string]any) (map[string]any, error) { return req, nil }
	if err := server.Handle("shop.v1.Shop/Get", echo); err != nil {
		t.Fatalf("Get: %v", err)
	}
	return server.Handle("shop.v1.Shop/List", echo) == nil
}

func TestSchemaFromRegistry(t *testing.T) {
	uri := registryServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v1, err := hmsffi.SchemaFromRegistry(ctx, "registry+"+uri+"#shop.v1@1")
	if err != nil {
		t.Fatal(err)
	}
	if hasList(t, v1) {
		t.Fatal("version 1 has shop.v1.Shop/List")
	}
	latest, err := hmsffi.SchemaFromRegistry(ctx, "registry+"+uri+"#shop.v1")
	if err != nil {
		t.Fatal(err)
	}
	if !hasList(t, latest) {
		t.Fatal("the latest version lacks shop.v1.Shop/List")
	}
	for ref, want := range map[string]hmsffi.Code{
		"shop/v1":                        hmsffi.InvalidArgument,
		"registry+" + uri + "#shop.v1@9": hmsffi.NotFound,
		"registry+unix:///nonexistent/r.sock#shop.v1": hmsffi.Unavailable,
	} {
		short, stop := context.WithTimeout(ctx, 2*time.Second)
		_, err := hmsffi.SchemaFromRegistry(short, ref)
		stop()
		var he *hmsffi.Error
		if !errors.As(err, &he) || he.Code() != want {
			t.Errorf("%s: %v, want %v", ref, err, want)
		}
	}
}
