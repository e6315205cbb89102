package hmsffi_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// TestAutoFindsAServerByName: a server announces "auto://NAME"; a client in its process
// reaches it in-process, and one told to use shared memory or the unix socket does, each
// saying which transport it picked (issue 18, auto://).
func TestAutoFindsAServerByName(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	r := &runs{n: map[string]int{}}
	srv := counterServer(t, "goauto.v1", "auto", "auto://goauto", r)
	record := filepath.Join(dir, "hms-ffi", "auto", "goauto.json")
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("no record: %v", err)
	}
	ctx := context.Background()
	sock := "unix://" + filepath.Join(dir, "hms-ffi", "auto", "goauto.sock")
	for uri, want := range map[string]string{
		"auto://goauto":                 "inproc://goauto",
		"auto://goauto?transports=shm":  "shm://goauto",
		"auto://goauto?transports=unix": sock,
	} {
		c, err := hmsffi.Connect(ctx, uri)
		if err != nil {
			t.Fatalf("%s: %v", uri, err)
		}
		if got := c.Transport(); got != want {
			t.Errorf("%s picked %q, want %q", uri, got, want)
		}
		reply, err := call(ctx, c, "goauto.v1.Counter/Get", map[string]any{"id": uri})
		if err != nil || reply["server"] != "auto" {
			t.Errorf("%s: %v %v", uri, reply, err)
		}
		eps, err := c.Endpoints()
		if err != nil || eps[0].URI != uri || eps[0].Connected != want {
			t.Errorf("%s: endpoints %+v %v", uri, eps, err)
		}
		c.Close()
		if c.Transport() != "" {
			t.Errorf("%s: a closed client has no transport", uri)
		}
	}
	srv.Shutdown(ctx)
	if _, err := os.Stat(record); !os.IsNotExist(err) {
		t.Errorf("the record outlived its server: %v", err)
	}
	if _, err := hmsffi.Connect(ctx, "auto://goauto"); hmsffi.CodeOf(err) != hmsffi.Unavailable {
		t.Errorf("a name no one serves: %v, want Unavailable", err)
	}
	for _, bad := range []string{"auto://a/b", "auto://x?transports=pigeon"} {
		if _, err := hmsffi.Connect(ctx, bad); hmsffi.CodeOf(err) != hmsffi.InvalidArgument {
			t.Errorf("%s: %v, want InvalidArgument", bad, err)
		}
	}
}
