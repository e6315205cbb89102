package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime/cgo"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unsafe"

	"google.golang.org/protobuf/proto"
)

// Server serves a schema's methods with Go handlers. A handler runs on the thread that read its
// call (on inproc://, the caller's own goroutine's thread), may block, and may be called from
// many goroutines at once.
type Server struct {
	mu      sync.Mutex
	ptr     *C.HmsServer
	handles []cgo.Handle
	convs   converters
	// main is the server a Revision handle registers for; its Shutdown frees the handle.
	main *Server
	// revisions are the handles Revision made, freed by Shutdown.
	revisions []*Server
}

// ServerOption adjusts NewServer.
type ServerOption func(*serverOptions)

type serverOptions struct {
	security      string
	serviceConfig *string
	converters    converters
	err           error
}

// WithSecurity configures the server from a security file (policy, bearer tokens, limits,
// audit; see docs/security.md). A file that cannot be read or has an unknown key makes
// NewServer fail with InvalidArgument (or the read error).
func WithSecurity(path string) ServerOption {
	return func(o *serverOptions) { o.security = path }
}

// WithServiceConfig sets the gRPC service config the server announces in discovery: clients
// that discover its schema and were given no config of their own retry and time out by it
// (docs/resilience.md). It takes the JSON text or any value encoding/json marshals; a bad
// config makes NewServer fail with InvalidArgument.
func WithServiceConfig(config any) ServerOption {
	return func(o *serverOptions) {
		text, err := jsonText(config, "service config")
		o.serviceConfig, o.err = &text, err
	}
}

// NewServer creates a server for schema.
func NewServer(schema *Schema, opts ...ServerOption) (*Server, error) {
	var o serverOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.err != nil {
		return nil, o.err
	}
	lang := C.CString("go")
	defer C.free(unsafe.Pointer(lang))
	var security *C.char
	if o.security != "" {
		security = C.CString(o.security)
		defer C.free(unsafe.Pointer(security))
	}
	convs, err := o.converters.cJSON()
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(convs))
	var out *C.HmsServer
	var e *C.HmsError
	if C.hms_server_new_converting(schema.ptr, lang, security, convs, &out, &e) != 0 {
		return nil, takeError(e)
	}
	if o.serviceConfig != nil {
		config := C.CString(*o.serviceConfig)
		defer C.free(unsafe.Pointer(config))
		if C.hms_server_set_service_config(out, config, &e) != 0 {
			C.hms_server_free(out)
			return nil, takeError(e)
		}
	}
	return &Server{ptr: out, convs: o.converters}, nil
}

type route struct {
	fn func(ctx context.Context, request []byte) ([]byte, error)
}

// callContext carries the caller's deadline, cancellation and identity into the handler's
// context.
func callContext(call *C.HmsCall) (context.Context, func()) {
	info := &CallInfo{call: call}
	ctx, cancel := context.WithValue(context.Background(), callInfoKey{}, info), func() {}
	if ms := int64(C.hms_call_timeout_ms(call)); ms >= 0 {
		ctx, cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
	}
	ctx, cancelAll := context.WithCancel(ctx)
	watch(call, cancelAll)
	// The call leaves the watcher before it is completed (and freed).
	return ctx, func() { unwatch(call); info.finish(); cancelAll(); cancel() }
}

// watched holds the calls whose handlers are running, with what cancels each one's context;
// one goroutine polls them while there are any (hms_call_is_cancelled is a cheap flag read), so
// a call costs a map entry rather than a goroutine and a ticker of its own.
var watched struct {
	sync.Mutex
	calls   map[*C.HmsCall]context.CancelFunc
	running bool
}

func watch(call *C.HmsCall, cancel context.CancelFunc) {
	watched.Lock()
	defer watched.Unlock()
	if watched.calls == nil {
		watched.calls = make(map[*C.HmsCall]context.CancelFunc)
	}
	watched.calls[call] = cancel
	if !watched.running {
		watched.running = true
		go watchLoop()
	}
}

func unwatch(call *C.HmsCall) {
	watched.Lock()
	delete(watched.calls, call)
	watched.Unlock()
}

// watchLoop cancels the context of each watched call the caller cancelled (or whose deadline
// or connection ended), every 5 ms, and stops when no call is left.
func watchLoop() {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for range tick.C {
		watched.Lock()
		if len(watched.calls) == 0 {
			watched.running = false
			watched.Unlock()
			return
		}
		for call, cancel := range watched.calls {
			if C.hms_call_is_cancelled(call) {
				cancel()
				delete(watched.calls, call)
			}
		}
		watched.Unlock()
	}
}

func (r *route) serve(call *C.HmsCall, request []byte) {
	ctx, done := callContext(call)
	reply, err := r.run(ctx, request)
	done()
	if err != nil {
		failCall(call, err)
		return
	}
	ptr, n := cBytes(reply)
	C.hms_call_reply(call, ptr, n)
}

// failCall ends a call with a handler's error; one returning ctx.Err() keeps
// DEADLINE_EXCEEDED / CANCELLED, and an error that is not an *Error is Internal.
func failCall(call *C.HmsCall, err error) {
	err = fromContextErr(err)
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{code: Internal, message: err.Error(), Detail: fmt.Sprintf("%T: %v", err, err)}
	}
	status := statusBytes(e)
	ptr, n := cBytes(status)
	C.hms_call_fail(call, C.int32_t(e.code), nil, ptr, n)
}

// run calls the handler; a panic becomes an Internal error with the goroutine's stack.
func (r *route) run(ctx context.Context, request []byte) (reply []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{code: Internal, message: fmt.Sprintf("handler panicked: %v", p), Detail: fmt.Sprint(p),
				Stack: strings.Split(strings.TrimSpace(string(debug.Stack())), "\n")}
		}
	}()
	return r.fn(ctx, request)
}

func (s *Server) register(method string, format C.HmsFormat, r *route) error {
	return s.registerWith(method, r, func(cm *C.char, h cgo.Handle, e **C.HmsError) C.int32_t {
		return goServerHandle(s.ptr, cm, format, h, e)
	})
}

// registerWith registers a route (kept alive by a handle until Shutdown) through reg, which
// runs holding the server's lock.
func (s *Server) registerWith(method string, r any, reg func(method *C.char, h cgo.Handle, e **C.HmsError) C.int32_t) error {
	owner := s.owner()
	owner.mu.Lock()
	defer owner.mu.Unlock()
	if owner.ptr == nil {
		return NewError(FailedPrecondition, "server is closed")
	}
	h := cgo.NewHandle(r)
	cm := C.CString(method)
	defer C.free(unsafe.Pointer(cm))
	var e *C.HmsError
	if reg(cm, h, &e) != 0 {
		h.Delete()
		return takeError(e)
	}
	owner.handles = append(owner.handles, h)
	return nil
}

// Handle registers a handler for a unary method with requests and replies as map[string]any
// (field names as in the .proto; see docs/types.md for the value types).
func (s *Server) Handle(method string, h func(ctx context.Context, req map[string]any) (map[string]any, error)) error {
	return s.register(method, C.HMS_FORMAT_VALUE, &route{fn: func(ctx context.Context, request []byte) ([]byte, error) {
		var req map[string]any
		if err := decodeInto(request, &req, s.convs); err != nil {
			return nil, err
		}
		reply, err := h(ctx, req)
		if err != nil {
			return nil, err
		}
		return encodeValue(reply, s.convs, true)
	}})
}

// HandleProto registers a handler for a unary method with generated protobuf types.
func HandleProto[Req proto.Message](s *Server, method string, h func(ctx context.Context, req Req) (proto.Message, error)) error {
	return s.register(method, C.HMS_FORMAT_PROTO, &route{fn: func(ctx context.Context, request []byte) ([]byte, error) {
		var zero Req
		req := zero.ProtoReflect().New().Interface().(Req)
		if err := proto.Unmarshal(request, req); err != nil {
			return nil, NewError(InvalidArgument, "undecodable request: "+err.Error())
		}
		reply, err := h(ctx, req)
		if err != nil {
			return nil, err
		}
		return proto.Marshal(reply)
	}})
}

// Listen starts listening on uri (inproc://name, unix:///path.sock); returns it as bound.
func (s *Server) Listen(uri string) (string, error) {
	return s.bind(uri, func(srv *C.HmsServer, cu *C.char, bound **C.char, e **C.HmsError) C.int32_t {
		return C.hms_server_listen(srv, cu, bound, e)
	})
}

// bind runs a C function that binds the server to uri (listen, the admin listener) and returns
// the URI bound.
func (s *Server) bind(uri string, f func(*C.HmsServer, *C.char, **C.char, **C.HmsError) C.int32_t) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return "", NewError(FailedPrecondition, "server is closed")
	}
	cu := C.CString(uri)
	defer C.free(unsafe.Pointer(cu))
	var bound *C.char
	var e *C.HmsError
	if f(s.ptr, cu, &bound, &e) != 0 {
		return "", takeError(e)
	}
	defer C.hms_string_free(bound)
	return C.GoString(bound), nil
}

// Inflight is the number of calls being served.
func (s *Server) Inflight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return 0
	}
	return int(C.hms_server_inflight(s.ptr))
}

// Shutdown stops accepting calls, lets calls in flight finish until ctx's deadline (5 s
// without one), cancels the rest, closes every endpoint and frees the server.
func (s *Server) Shutdown(ctx context.Context) {
	if s.main != nil {
		s.main.Shutdown(ctx)
		return
	}
	grace := 5 * time.Second
	if d, ok := ctx.Deadline(); ok {
		grace = time.Until(d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return
	}
	C.hms_server_shutdown(s.ptr, C.uint64_t(max(grace.Milliseconds(), 0)))
	C.hms_server_free(s.ptr)
	s.ptr = nil
	for _, r := range s.revisions {
		r.mu.Lock()
		C.hms_server_free(r.ptr)
		r.ptr = nil
		r.mu.Unlock()
	}
	s.revisions = nil
	for _, h := range s.handles {
		h.Delete()
	}
	s.handles = nil
}
