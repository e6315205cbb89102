package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"
)

// Client is a connection to an hms-ffi server; safe for concurrent use.
type Client struct {
	mu  sync.RWMutex
	ptr *C.HmsClient
	uri string
	// Converters of custom domain types (WithConverters).
	convs converters
	// Calls in flight: the only one blocks on its goroutine's thread, the others wait on
	// channels.
	inflight atomic.Int64
}

// MethodInfo describes a method the server offers.
type MethodInfo struct {
	Name   string `json:"name"`
	Input  string `json:"input"`
	Output string `json:"output"`
	Kind   string `json:"kind"`
}

type result struct {
	reply             []byte
	err               *Error
	headers, trailers MD
}

// Metadata is sent with a call; see WithMetadata.
type metadataKey struct{}

// WithMetadata returns a context whose calls carry these metadata entries.
func WithMetadata(ctx context.Context, md map[string]string) context.Context {
	return context.WithValue(ctx, metadataKey{}, md)
}

// ConnectOption adjusts Connect.
type ConnectOption func(*connectOptions)

type connectOptions struct {
	schema       *Schema
	expectSchema *Schema
	revision     *string
	resilience   *string
	converters   converters
	err          error
}

// WithSchema uses schema instead of asking the server for its own: needed for servers without
// hms-ffi discovery, such as a stock gRPC server reached over grpc://.
func WithSchema(schema *Schema) ConnectOption {
	return func(o *connectOptions) { o.schema = schema }
}

// Connect connects to uri (inproc://name, unix:///path.sock, grpc://host:port,
// grpc+unix:///path.sock, http://host:port, ws://host:port) and discovers the server's schema.
func Connect(ctx context.Context, uri string, opts ...ConnectOption) (*Client, error) {
	return ConnectAll(ctx, []string{uri}, opts...)
}

// ConnectAll connects to several endpoints of one service (balanced as WithResilience says:
// pick_first by default, or round_robin), each reconnecting on its own.
func ConnectAll(ctx context.Context, uris []string, opts ...ConnectOption) (*Client, error) {
	var o connectOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.err != nil {
		return nil, o.err
	}
	var schema, expected *C.HmsSchema
	if o.schema != nil {
		schema = o.schema.ptr
	}
	if o.expectSchema != nil {
		expected = o.expectSchema.ptr
	}
	// A Go slice holding C pointers only may be passed to C. An empty list is the core's to
	// refuse, as it does for every binding.
	cu := make([]*C.char, len(uris), len(uris)+1)
	for i, u := range uris {
		cu[i] = C.CString(u)
	}
	var cres, crev *C.char
	if o.resilience != nil {
		cres = C.CString(*o.resilience)
	}
	if o.revision != nil {
		crev = C.CString(*o.revision)
	}
	cconv, err := o.converters.cJSON()
	free := func() {
		for _, p := range cu {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(cres))
		C.free(unsafe.Pointer(crev))
		C.free(unsafe.Pointer(cconv))
	}
	if err != nil {
		free()
		return nil, err
	}
	type connected struct {
		ptr *C.HmsClient
		err error
	}
	ch := make(chan connected, 1)
	go func() {
		defer free()
		var out *C.HmsClient
		var e *C.HmsError
		// The schemas stay alive until the core has cloned them, even when ctx ends first.
		defer runtime.KeepAlive(o.expectSchema)
		defer runtime.KeepAlive(o.schema)
		if C.hms_connect_all_at_revision(&cu[:1][0], C.size_t(len(cu)), schema, cres, expected, cconv, crev, &out, &e) != 0 {
			ch <- connected{err: takeError(e)}
			return
		}
		ch <- connected{ptr: out}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		c := &Client{ptr: r.ptr, uri: uris[0], convs: o.converters}
		runtime.SetFinalizer(c, (*Client).free)
		return c, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.ptr != nil {
				C.hms_client_free(r.ptr)
			}
		}()
		return nil, contextError(ctx)
	}
}

func contextError(ctx context.Context) error {
	return fromContextErr(ctx.Err())
}

// fromContextErr gives context.DeadlineExceeded and context.Canceled their gRPC codes; other
// errors pass through.
func fromContextErr(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return NewError(DeadlineExceeded, "deadline exceeded")
	case errors.Is(err, context.Canceled):
		return NewError(Canceled, "call cancelled: "+err.Error())
	}
	return err
}

// Call calls a unary method. req is a proto.Message or a map[string]any; reply is a
// proto.Message or a *map[string]any. The context's deadline travels to the server and its
// cancellation cancels the call (the handler's context is cancelled too). Header and Trailer
// options capture the response metadata; an *Error carries it too.
func (c *Client) Call(ctx context.Context, method string, req any, reply any, opts ...CallOption) error {
	var o callOptions
	for _, opt := range opts {
		opt(&o)
	}
	var format C.HmsFormat
	var body []byte
	var err error
	switch r := req.(type) {
	case proto.Message:
		format = C.HMS_FORMAT_PROTO
		if body, err = proto.Marshal(r); err != nil {
			return NewError(InvalidArgument, "cannot marshal request: "+err.Error())
		}
		if _, ok := reply.(proto.Message); !ok {
			return NewError(InvalidArgument, fmt.Sprintf("reply must be a proto.Message when the request is one, got %T", reply))
		}
	default:
		format = C.HMS_FORMAT_VALUE
		if body, err = encodeValue(req, c.convs, false); err != nil {
			return err
		}
	}
	args := newCallArgs(ctx, method, o)
	defer args.free()
	if err := ctx.Err(); err != nil {
		return contextError(ctx)
	}
	c.mu.RLock()
	if c.ptr == nil {
		c.mu.RUnlock()
		return NewError(FailedPrecondition, "client is closed")
	}
	var res result
	if c.inflight.Add(1) == 1 {
		// The only call in flight is made on this goroutine's thread, which writes the request
		// and reads the reply itself (no hand-off to another thread); the context's
		// cancellation cancels it through its cancel id.
		var id C.uint64_t
		if ctx.Done() != nil {
			// Registered at once: a cancellation before the call starts is kept. The call
			// releases it.
			id = C.hms_cancel_id_new()
			stop := context.AfterFunc(ctx, func() { C.hms_call_cancel(id) })
			defer stop()
		}
		res = callBlocking(c.ptr, &args, format, body, id)
		c.inflight.Add(-1)
		c.mu.RUnlock()
	} else {
		// Other calls are in flight: this one runs on hms-ffi's threads while the goroutine
		// waits on a channel, holding no OS thread, so many concurrent calls cost goroutines
		// rather than threads blocked in C.
		ch := make(chan result, 1)
		h := cgo.NewHandle(ch)
		id := goCallAsync(c.ptr, &args, format, body, h)
		c.mu.RUnlock()
		select {
		case res = <-ch:
		case <-ctx.Done():
			if id != 0 {
				C.hms_call_cancel(id)
			}
			<-ch // the callback runs exactly once, and frees the handle
			c.inflight.Add(-1)
			return contextError(ctx)
		}
		c.inflight.Add(-1)
	}
	if o.header != nil {
		*o.header = res.headers
	}
	if o.trailer != nil {
		*o.trailer = res.trailers
	}
	if res.err != nil && res.err.code == Canceled && ctx.Err() != nil {
		return contextError(ctx)
	}
	if res.err != nil {
		return res.err
	}
	switch out := reply.(type) {
	case proto.Message:
		if err := proto.Unmarshal(res.reply, out); err != nil {
			return NewError(Internal, "undecodable reply: "+err.Error())
		}
		return nil
	default:
		return decodeInto(res.reply, reply, c.convs)
	}
}

// callArgs are a call's arguments in C: the method, and its options: the context's metadata
// (WithMetadata) as key and value in turn, in C memory (the options struct that points at them
// is passed to C), the milliseconds left before its deadline (0: none) and WaitForReady.
type callArgs struct {
	method  *C.char
	md      []*C.char
	options C.HmsCallOptions
}

func newCallArgs(ctx context.Context, method string, o callOptions) callArgs {
	a := callArgs{method: C.CString(method)}
	if d, ok := ctx.Deadline(); ok {
		a.options.timeout_ms = C.int64_t(max(time.Until(d).Milliseconds(), 1))
	}
	if m, ok := ctx.Value(metadataKey{}).(map[string]string); ok && len(m) > 0 {
		kv := (**C.char)(C.malloc(C.size_t(2*len(m)) * C.size_t(unsafe.Sizeof((*C.char)(nil)))))
		a.md = unsafe.Slice(kv, 2*len(m))[:0]
		for k, v := range m {
			a.md = append(a.md, C.CString(k), C.CString(v))
		}
		a.options.metadata_kv = kv
		a.options.n_metadata = C.size_t(len(m))
	}
	switch {
	case o.waitForReady == nil:
		a.options.wait_for_ready = C.HMS_WAIT_FOR_READY_DEFAULT
	case *o.waitForReady:
		a.options.wait_for_ready = C.HMS_WAIT_FOR_READY_YES
	default:
		a.options.wait_for_ready = C.HMS_WAIT_FOR_READY_NO
	}
	return a
}

func (a callArgs) free() {
	C.free(unsafe.Pointer(a.method))
	for _, p := range a.md {
		C.free(unsafe.Pointer(p))
	}
	C.free(unsafe.Pointer(a.options.metadata_kv))
}

// Methods lists the methods the server offers.
func (c *Client) Methods() ([]MethodInfo, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return nil, NewError(FailedPrecondition, "client is closed")
	}
	var out C.HmsBytes
	if code := C.hms_client_methods(c.ptr, &out); code != 0 {
		return nil, NewError(Code(code), "cannot list methods")
	}
	defer C.hms_bytes_free(&out)
	var list []MethodInfo
	err := json.Unmarshal(C.GoBytes(unsafe.Pointer(out.data), C.int(out.len)), &list)
	return list, err
}

// callBlocking makes one call with the C ABI's blocking call and reads its outcome.
func callBlocking(c *C.HmsClient, args *callArgs, format C.HmsFormat, req []byte, id C.uint64_t) result {
	ptr, n := cBytes(req)
	var reply, respMD C.HmsBytes
	var e *C.HmsError
	rc := C.hms_client_call_with_options(c, args.method, uint32(format), ptr, n, &args.options, id, &reply, &respMD, &e)
	var res result
	if respMD.len > 2 {
		res.headers, res.trailers = parseResponseMetadata(C.GoBytes(unsafe.Pointer(respMD.data), C.int(respMD.len)))
	}
	C.hms_bytes_free(&respMD)
	if rc != 0 {
		res.err = errorFromC(e)
		C.hms_error_free(e)
		res.err.Headers, res.err.Trailers = res.headers, res.trailers
		return res
	}
	res.reply = C.GoBytes(unsafe.Pointer(reply.data), C.int(reply.len))
	C.hms_bytes_free(&reply)
	return res
}

// Close closes the connection; calls in flight and later calls fail with Canceled (reason
// CLIENT_CLOSED), as on every transport. The client is freed when it is garbage.
func (c *Client) Close() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr != nil {
		C.hms_client_close(c.ptr)
	}
	return nil
}

// free releases the native client (the finalizer).
func (c *Client) free() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ptr != nil {
		C.hms_client_free(c.ptr)
		c.ptr = nil
	}
}
