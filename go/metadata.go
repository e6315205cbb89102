package hmsffi

import (
	"context"
	"encoding/json"
	"strings"
)

// MD is call metadata: request metadata a handler reads, or the response headers and trailers
// a client reads. Keys are lower-case; a key may have several values, in order.
type MD map[string][]string

// Get returns the first value for key (case-insensitive), or "".
func (md MD) Get(key string) string {
	if v := md[strings.ToLower(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// mdFromPairs builds MD from [[key, value], …] as the C ABI writes it.
func mdFromPairs(pairs [][2]string) MD {
	md := make(MD, len(pairs))
	for _, p := range pairs {
		md[p[0]] = append(md[p[0]], p[1])
	}
	return md
}

// parseResponseMetadata reads the C ABI's {"headers": [[k, v], …], "trailers": […]}.
func parseResponseMetadata(b []byte) (headers, trailers MD) {
	var r struct {
		Headers  [][2]string `json:"headers"`
		Trailers [][2]string `json:"trailers"`
	}
	if json.Unmarshal(b, &r) != nil {
		return nil, nil
	}
	return mdFromPairs(r.Headers), mdFromPairs(r.Trailers)
}

// CallOption adjusts one Client.Call.
type CallOption func(*callOptions)

type callOptions struct {
	header, trailer *MD
	waitForReady    *bool
}

// WaitForReady(true) makes a call wait for a connection, up to the context's deadline,
// instead of failing with Unavailable at once while there is none (as grpc.WaitForReady does);
// false fails at once. Without it a call takes the client's "waitForReady" (WithResilience).
func WaitForReady(wait bool) CallOption { return func(o *callOptions) { o.waitForReady = &wait } }

// Header makes Call store the response headers the handler set in *md, with a reply or with an
// error (as grpc.Header does).
func Header(md *MD) CallOption { return func(o *callOptions) { o.header = md } }

// Trailer makes Call store the response trailers the handler set in *md, with a reply or with
// an error (as grpc.Trailer does).
func Trailer(md *MD) CallOption { return func(o *callOptions) { o.trailer = md } }

// SetHeader adds a response header to the call a handler's ctx belongs to; the core refuses
// reserved keys (grpc-*, content-type, …) with InvalidArgument.
func SetHeader(ctx context.Context, key, value string) error {
	return setMetadata(ctx, false, key, value)
}

// SetTrailer adds a response trailer, sent with the call's outcome (a reply or an error).
func SetTrailer(ctx context.Context, key, value string) error {
	return setMetadata(ctx, true, key, value)
}

// SendHeader sends the response headers set so far now, ahead of any reply (as grpc.SendHeader
// does): a streaming caller sees them before the first one. A later SetHeader is
// FailedPrecondition; a second call does nothing.
func SendHeader(ctx context.Context) error {
	info, ok := CallInfoFromContext(ctx)
	if !ok {
		return NewError(FailedPrecondition, "not a handler's context")
	}
	return info.SendHeader()
}

func setMetadata(ctx context.Context, trailer bool, key, value string) error {
	info, ok := CallInfoFromContext(ctx)
	if !ok {
		return NewError(FailedPrecondition, "not a handler's context")
	}
	return info.setMetadata(trailer, key, value)
}
