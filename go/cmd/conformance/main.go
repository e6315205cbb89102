// Command conformance is the Go side of the cross-language matrix (tests/matrix/run.py):
//
//	conformance serve unix:///tmp/x.sock    # the conformance service until SIGTERM/SIGINT
//	conformance client unix:///tmp/x.sock   # every vector, streaming ones too, as a client;
//	                                        # prints "N passed, M failed, K skipped"
//	conformance semantics unix:///tmp/x.sock  # every call-semantics case; "N passed, M failed, K skipped"
//	conformance streams grpc://127.0.0.1:P   # every streaming vector against a server without
//	                                         # hms-ffi discovery (a stock gRPC server)
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"github.com/hms-ffi/hms-ffi/go/internal/conformance"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: conformance serve|client|semantics URI")
		os.Exit(2)
	}
	mode, uri := os.Args[1], os.Args[2]
	switch mode {
	case "serve":
		srv, err := conformance.NewServer()
		if err == nil {
			_, err = srv.Listen(uri)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("ready")
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	case "semantics":
		if conformance.RunSemantics(uri, 0, 0, 0) > 0 {
			os.Exit(1)
		}
	case "streams":
		schema, err := hmsffi.LoadSchema(conformance.Proto())
		var client *hmsffi.Client
		if err == nil {
			client, err = hmsffi.Connect(context.Background(), uri, hmsffi.WithSchema(schema))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		passed, failed, _ := conformance.RunStreams(client)
		fmt.Printf("%d passed, %d failed\n", passed, failed)
		if failed > 0 {
			os.Exit(1)
		}
	case "client":
		client, err := hmsffi.Connect(context.Background(), uri)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		cases, err := conformance.LoadCases()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		passed, failed := 0, 0
		for _, c := range cases {
			if why := conformance.Check(context.Background(), c, client); why != "" {
				failed++
				fmt.Printf("FAIL %s: %s\n", c.ID(), why)
			} else {
				passed++
			}
		}
		// Then every streaming case, then every call-semantics case; the last line totals all.
		sp, sf, skipped := conformance.RunStreams(client)
		if conformance.RunSemantics(uri, passed+sp, failed+sf, skipped) > 0 {
			os.Exit(1)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
}
