// A client built against revision 2 of acme.v1, calling the Node server of
// examples/versions (see its README):
//
//	go run . unix:///tmp/acme.sock Ada
//
// Revision 2 is the server's main schema: this client needs no revision key. SayHello reaches
// the handler written for revision 2; SayGoodbye reaches the revision 1 handler through the
// server's bridge, the renamed fields matched by number.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

func protoPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "proto", "rev2", "acme", "v1", "greeter.proto")
}

func run(uri, name string) error {
	schema, err := hmsffi.LoadSchema(protoPath())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := hmsffi.Connect(ctx, uri, hmsffi.WithExpectSchema(schema))
	if err != nil {
		return err
	}
	defer client.Close()
	fmt.Printf("[go v2] revision %q, incompatible: %v\n", client.Revision(), client.IncompatibleMethods())
	for _, method := range []string{"SayHello", "SayGoodbye"} {
		var reply map[string]any
		req := map[string]any{"full_name": name, "locale": "fr"}
		if err := client.Call(ctx, "acme.v1.Greeter/"+method, req, &reply); err != nil {
			return err
		}
		fmt.Printf("[go v2] %s -> %v (length %v)\n", method, reply["text"], reply["length"])
	}
	return nil
}

func main() {
	uri, name := "unix:///tmp/acme-versions.sock", "Ada"
	if len(os.Args) > 1 {
		uri = os.Args[1]
	}
	if len(os.Args) > 2 {
		name = os.Args[2]
	}
	if err := run(uri, name); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
