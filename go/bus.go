package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/proto"
)

// Bus publishes and subscribes to typed topics (docs/messaging.md, "Publish/subscribe"):
// NewBus is in-process, ConnectBus reaches other processes and machines through a
// nats-server. Each topic pattern is declared with a message type of the schema, and both ends
// check events against their own declaration; the rules are the core's. Safe for concurrent
// use.
type Bus struct {
	mu    sync.RWMutex
	ptr   *C.HmsBus
	convs converters
}

// BusOption adjusts NewBus and ConnectBus.
type BusOption func(*busOptions)

type busOptions struct {
	converters converters
}

// WithBusConverters converts the values of custom domain types in the messages this bus
// publishes and receives as maps (docs/converters.md).
func WithBusConverters(cs ...Converter) BusOption {
	return func(o *busOptions) { o.converters = append(o.converters, cs...) }
}

func newBus(connect func(conv *C.char, out **C.HmsBus, e **C.HmsError) C.int32_t, opts []BusOption) (*Bus, error) {
	var o busOptions
	for _, opt := range opts {
		opt(&o)
	}
	cconv, err := o.converters.cJSON()
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cconv))
	var out *C.HmsBus
	var e *C.HmsError
	if connect(cconv, &out, &e) != 0 {
		return nil, takeError(e)
	}
	b := &Bus{ptr: out, convs: o.converters}
	runtime.SetFinalizer(b, (*Bus).Close)
	return b, nil
}

// NewBus is an in-process bus over schema's message types: no server, no socket; it sees only
// its own subscriptions.
func NewBus(schema *Schema, opts ...BusOption) (*Bus, error) {
	defer runtime.KeepAlive(schema)
	return newBus(func(conv *C.char, out **C.HmsBus, e **C.HmsError) C.int32_t {
		return C.hms_bus_new(schema.ptr, conv, out, e)
	}, opts)
}

// ConnectBus is a bus over NATS: uri is nats://host:port/PREFIX, and an event on topic T is
// a NATS message on PREFIX.T. The context bounds the connecting (Unavailable when no
// nats-server answers).
func ConnectBus(ctx context.Context, uri string, schema *Schema, opts ...BusOption) (*Bus, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(ctx)
	}
	type connected struct {
		bus *Bus
		err error
	}
	ch := make(chan connected, 1)
	go func() {
		curi := C.CString(uri)
		defer C.free(unsafe.Pointer(curi))
		defer runtime.KeepAlive(schema)
		b, err := newBus(func(conv *C.char, out **C.HmsBus, e **C.HmsError) C.int32_t {
			return C.hms_bus_connect(curi, schema.ptr, conv, out, e)
		}, opts)
		ch <- connected{b, err}
	}()
	select {
	case r := <-ch:
		return r.bus, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.bus != nil {
				r.bus.Close()
			}
		}()
		return nil, contextError(ctx)
	}
}

// use runs f with the native bus, or FailedPrecondition once the bus is closed.
func (b *Bus) use(f func(*C.HmsBus, **C.HmsError) C.int32_t) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.ptr == nil {
		return NewError(FailedPrecondition, "bus is closed")
	}
	var e *C.HmsError
	if f(b.ptr, &e) != 0 {
		return takeError(e)
	}
	return nil
}

// Declare says that events on topics matching pattern ("*" one token, a final ">" the rest)
// are messageType messages (a full name from the schema). The first declaration a topic
// matches gives its type.
func (b *Bus) Declare(pattern, messageType string) error {
	cp, ct := C.CString(pattern), C.CString(messageType)
	defer C.free(unsafe.Pointer(cp))
	defer C.free(unsafe.Pointer(ct))
	return b.use(func(p *C.HmsBus, e **C.HmsError) C.int32_t { return C.hms_bus_declare(p, cp, ct, e) })
}

// Publish publishes msg on topic (no wildcards), checked against the topic's declared type:
// msg is a map[string]any (converted as Client.Call converts requests) or a proto.Message of
// that type. A wrong field is InvalidArgument with its path, an undeclared topic NotFound
// (reason UNDECLARED_TOPIC), a proto.Message of another type InvalidArgument (reason
// WRONG_MESSAGE_TYPE). It does not wait for subscribers; ctx is only checked first.
func (b *Bus) Publish(ctx context.Context, topic string, msg any) error {
	if err := ctx.Err(); err != nil {
		return contextError(ctx)
	}
	format := C.HmsFormat(C.HMS_FORMAT_VALUE)
	var ctype *C.char
	var body []byte
	var err error
	if m, ok := msg.(proto.Message); ok {
		format = C.HMS_FORMAT_PROTO
		if body, err = proto.Marshal(m); err != nil {
			return NewError(InvalidArgument, "cannot marshal message: "+err.Error())
		}
		ctype = C.CString(string(proto.MessageName(m)))
		defer C.free(unsafe.Pointer(ctype))
	} else if body, err = encodeValue(msg, b.convs, false); err != nil {
		return err
	}
	ctopic := C.CString(topic)
	defer C.free(unsafe.Pointer(ctopic))
	return b.use(func(p *C.HmsBus, e **C.HmsError) C.int32_t {
		ptr, n := cBytes(body)
		return C.hms_bus_publish(p, ctopic, uint32(format), ctype, ptr, n, e)
	})
}

// SubscribeOption adjusts Subscribe.
type SubscribeOption func(*subscribeOptions)

type subscribeOptions struct {
	queue   string
	pending int
}

// WithQueue makes the subscription a member of the queue group name: the group's members
// share its events, each event to one of them.
func WithQueue(name string) SubscribeOption {
	return func(o *subscribeOptions) { o.queue = name }
}

// WithPending holds at most n events not yet read (default 512 Ki, NATS's own); while the
// subscription is full, new events are dropped and counted (Subscription.Dropped).
func WithPending(n int) SubscribeOption {
	return func(o *subscribeOptions) { o.pending = n }
}

// Subscribe subscribes to pattern ("*" one token, a final ">" the rest). Read events with
// Next or All; Close unsubscribes.
func (b *Bus) Subscribe(pattern string, opts ...SubscribeOption) (*Subscription, error) {
	var o subscribeOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.pending < 0 {
		return nil, NewError(InvalidArgument, "pending must not be negative")
	}
	cp := C.CString(pattern)
	defer C.free(unsafe.Pointer(cp))
	var cq *C.char
	if o.queue != "" {
		cq = C.CString(o.queue)
		defer C.free(unsafe.Pointer(cq))
	}
	var out *C.HmsSubscription
	err := b.use(func(p *C.HmsBus, e **C.HmsError) C.int32_t {
		return C.hms_bus_subscribe(p, cp, cq, C.size_t(o.pending), &out, e)
	})
	if err != nil {
		return nil, err
	}
	return newSubscription(out, b.convs), nil
}

// Close frees the bus; its subscriptions go on until they are closed. Later calls on the bus
// fail with FailedPrecondition.
func (b *Bus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr != nil {
		C.hms_bus_free(b.ptr)
		b.ptr = nil
	}
	return nil
}
