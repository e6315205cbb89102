//go:build tools

// Package tools pins the stock grpc-go interop client, built by `make test-interop` with
// `go build google.golang.org/grpc/interop/client` against this module's go.mod.
package tools

import _ "google.golang.org/grpc/interop/client"
