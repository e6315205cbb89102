package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"iter"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// DurableOption adjusts SubscribeDurable.
type DurableOption func(*durableOptions)

// durableOptions are the C ABI's options (zero: the defaults).
type durableOptions struct{ c C.HmsDurableOptions }

// WithDeliverAll starts a new consumer at every event the stream holds (the default).
func WithDeliverAll() DurableOption {
	return func(o *durableOptions) { o.c.deliver = C.HMS_DELIVER_ALL }
}

// WithDeliverNew starts a new consumer at the events published after it is created.
func WithDeliverNew() DurableOption {
	return func(o *durableOptions) { o.c.deliver = C.HMS_DELIVER_NEW }
}

// WithDeliverLast starts a new consumer at the last event the stream holds.
func WithDeliverLast() DurableOption {
	return func(o *durableOptions) { o.c.deliver = C.HMS_DELIVER_LAST }
}

// WithStartSequence starts a new consumer at the stream sequence seq (Delivery.Sequence): a
// replay.
func WithStartSequence(seq uint64) DurableOption {
	return func(o *durableOptions) {
		o.c.deliver = C.HMS_DELIVER_SEQUENCE
		o.c.start_sequence = C.uint64_t(seq)
	}
}

// WithStartTime starts a new consumer at the first event stored at or after t: a replay.
func WithStartTime(t time.Time) DurableOption {
	return func(o *durableOptions) {
		o.c.deliver = C.HMS_DELIVER_TIME
		o.c.start_time_ns = C.int64_t(t.UnixNano())
	}
}

// WithAckWait is how long an event may stay unanswered before it is delivered again
// (default 30 s; rounded down to milliseconds, at least 1 ms).
func WithAckWait(d time.Duration) DurableOption {
	return func(o *durableOptions) { o.c.ack_wait_ms = C.uint64_t(max(d.Milliseconds(), 1)) }
}

// WithMaxDeliver delivers one event at most n times (default: no limit).
func WithMaxDeliver(n uint32) DurableOption {
	return func(o *durableOptions) { o.c.max_deliver = C.uint32_t(n) }
}

// WithBatch fetches at most n events ahead of Next (default 64). They wait for this reader
// until their ack wait passes, so readers that share a name and handle slowly lower it.
func WithBatch(n int) DurableOption {
	return func(o *durableOptions) { o.c.batch = C.size_t(max(n, 1)) }
}

// SubscribeDurable subscribes to pattern through the durable consumer name of the bus's
// JetStream stream (docs/messaging.md, "Durable events"): created on first use where the
// options say, resumed afterwards by this process or another; subscriptions of one name share
// its events, each to one. An empty name is an ephemeral consumer (a replay no one resumes).
// FailedPrecondition (reason NO_JETSTREAM) when the bus was connected without
// ?jetstream=STREAM, InvalidArgument for a bad pattern. ctx bounds the subscribing.
func (b *Bus) SubscribeDurable(ctx context.Context, pattern, name string, opts ...DurableOption) (*DurableSubscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, contextError(ctx)
	}
	var o durableOptions
	for _, opt := range opts {
		opt(&o)
	}
	type subscribed struct {
		ptr *C.HmsDurableSubscription
		err error
	}
	ch := make(chan subscribed, 1)
	go func() {
		cp := C.CString(pattern)
		defer C.free(unsafe.Pointer(cp))
		var cn *C.char
		if name != "" {
			cn = C.CString(name)
			defer C.free(unsafe.Pointer(cn))
		}
		var out *C.HmsDurableSubscription
		err := b.use(func(p *C.HmsBus, e **C.HmsError) C.int32_t {
			return C.hms_bus_subscribe_durable(p, cp, cn, &o.c, &out, e)
		})
		ch <- subscribed{out, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		return newDurableSubscription(r.ptr, b.convs), nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.ptr != nil {
				C.hms_durable_free(r.ptr)
			}
		}()
		return nil, contextError(ctx)
	}
}

// DurableSubscription receives the deliveries of a durable consumer: Next waits for one,
// honouring its context; All ranges over them; each Delivery is to be answered (Ack, Nak,
// Term, InProgress). An event that fails the subscriber's check is terminated (never
// delivered again) and is an error for that event only: the subscription goes on. Close
// stops reading; deliveries not answered come again after their ack wait.
//
// As with Subscription, a goroutine waits in the library when Next asks and hands the delivery
// over: none is taken ahead of the readers (its ack wait would pass unread), except one whose
// reader gave up while it came, which goes to the next Next. Safe for concurrent use.
type DurableSubscription struct {
	*durableState
}

// durableState is what the waiting goroutine shares (see subState).
type durableState struct {
	*feed[taken]
	mu    sync.RWMutex
	ptr   *C.HmsDurableSubscription // nil once the waiting goroutine has freed it
	convs converters
}

// taken is one delivery as the library handed it over, or its event's error.
type taken struct {
	d   *Delivery
	err error
}

// free frees a delivery that was taken but never handed over (it comes again after its ack
// wait); an event's error holds none.
func (t taken) free() {
	if t.d != nil {
		t.d.free()
	}
}

func newDurableSubscription(ptr *C.HmsDurableSubscription, convs converters) *DurableSubscription {
	st := &durableState{feed: newFeed[taken](), ptr: ptr, convs: convs}
	go st.run(st.take, taken.free, st.free)
	s := &DurableSubscription{st}
	runtime.SetFinalizer(s, func(s *DurableSubscription) { s.Close() })
	return s
}

// take waits in the library for the next delivery (ok false after a timeout, end true once
// the subscription is closed).
func (st *durableState) take() (t taken, ok, end bool) {
	var topic, msg C.HmsBytes
	var d *C.HmsDelivery
	var cend C.bool
	var e *C.HmsError
	rc := C.hms_durable_next(st.ptr, -1, &topic, &msg, &d, &cend, &e)
	switch {
	case rc != 0:
		t.err = takeError(e)
	case bool(cend):
		return t, false, true
	case d == nil:
		return t, false, false
	default:
		t.d = newDelivery(d, string(takeBytes(&topic)), takeBytes(&msg))
	}
	return t, true, false
}

func (st *durableState) free() {
	st.mu.Lock()
	defer st.mu.Unlock()
	C.hms_durable_free(st.ptr)
	st.ptr = nil
}

// Next waits for the next delivery: io.EOF once the subscription is closed, the context's
// error (DeadlineExceeded or Canceled, as *Error) when it ends first, or the event's own
// error (its delivery was terminated).
func (s *DurableSubscription) Next(ctx context.Context) (*Delivery, error) {
	t, err := s.next(ctx)
	if err != nil {
		return nil, err
	}
	if t.err != nil {
		return nil, t.err
	}
	if err := t.d.decode(s.convs); err != nil {
		return nil, err
	}
	return t.d, nil
}

// All yields each delivery (with a nil error) and each event's error (the loop may go on),
// until the subscription is closed or ctx ends (its error is yielded last). Breaking out of
// the loop leaves the subscription open.
func (s *DurableSubscription) All(ctx context.Context) iter.Seq2[*Delivery, error] {
	return all(ctx, s.Next)
}

// Close stops reading: a Next waiting returns io.EOF at once, and so does every later one.
// Deliveries already handed over can still be answered. Idempotent.
func (s *DurableSubscription) Close() error {
	s.shut(func() {
		s.mu.RLock()
		defer s.mu.RUnlock()
		C.hms_durable_close(s.ptr)
	})
	return nil
}
