package hmsffi

/*
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"iter"
	"runtime"
	"sync"
)

// Event is one event a Subscription received.
type Event struct {
	// Topic is the topic it was published on.
	Topic string
	// Message is the message, decoded through the subscriber's declared type of the topic.
	Message map[string]any
}

// Subscription receives the events of a topic pattern: Next waits for one, honouring its
// context; All ranges over them. An event that fails the subscriber's check (another type
// than the topic's declared one: InvalidArgument, reason WRONG_MESSAGE_TYPE; bytes that do not
// decode) is an error for that event only: the subscription goes on. Close unsubscribes.
//
// A goroutine of the subscription waits in the library (one OS thread, blocked in cgo) when
// Next asks for an event and hands it over, with the events the library already holds (up to
// 64, taken without waiting) for the next calls of Next. Safe for concurrent use.
type Subscription struct {
	*subState
}

// subState is what the waiting goroutine shares: not the Subscription itself, so that a
// Subscription nobody holds is closed by its finalizer.
type subState struct {
	*feed[received]
	mu  sync.RWMutex
	ptr *C.HmsSubscription // nil once the waiting goroutine has freed it
	// dropped is the count when it was freed.
	dropped uint64
	convs   converters
}

// received is one event as the library handed it over, or its error.
type received struct {
	topic string
	body  []byte
	err   error
}

// prefetch is how many events a Subscription takes ahead of its readers, at most.
const prefetch = 64

func newSubscription(ptr *C.HmsSubscription, convs converters) *Subscription {
	st := &subState{ptr: ptr, convs: convs}
	st.feed = newPrefetchFeed[received](prefetch, st.takeHeld)
	go st.run(st.take, func(received) {}, st.free)
	s := &Subscription{st}
	runtime.SetFinalizer(s, func(s *Subscription) { s.Close() })
	return s
}

// take waits in the library for the next event (ok false after a timeout, which none asked
// for; end true once the subscription is closed).
func (st *subState) take() (r received, ok, end bool) {
	return st.takeWithin(-1)
}

// takeHeld takes an event the library already holds, without waiting (ok false: none, or the
// subscription is closed).
func (st *subState) takeHeld() (received, bool) {
	r, ok, end := st.takeWithin(0)
	return r, ok && !end
}

// takeWithin waits up to timeoutMs (-1: no limit) for the next event.
func (st *subState) takeWithin(timeoutMs int64) (r received, ok, end bool) {
	var topic, msg C.HmsBytes
	var cend C.bool
	var e *C.HmsError
	rc := C.hms_subscription_next(st.ptr, C.int64_t(timeoutMs), &topic, &msg, &cend, &e)
	switch {
	case rc != 0:
		r.err = takeError(e)
	case bool(cend):
		return r, false, true
	case topic.len == 0:
		return r, false, false
	default:
		r.topic = string(takeBytes(&topic))
		r.body = takeBytes(&msg)
	}
	return r, true, false
}

func (st *subState) free() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.dropped = uint64(C.hms_subscription_dropped(st.ptr))
	C.hms_subscription_free(st.ptr)
	st.ptr = nil
}

// Next waits for the next event: io.EOF once the subscription is closed, the context's error
// (DeadlineExceeded or Canceled, as *Error) when it ends first, or the event's own error.
func (s *Subscription) Next(ctx context.Context) (Event, error) {
	r, err := s.next(ctx)
	if err != nil {
		return Event{}, err
	}
	if r.err != nil {
		return Event{}, r.err
	}
	m, err := s.convs.value(r.body, nil)
	if err != nil {
		return Event{}, err
	}
	return Event{Topic: r.topic, Message: m}, nil
}

// All yields each event (with a nil error) and each event's error (the loop may go on),
// until the subscription is closed or ctx ends (its error is yielded last). Breaking out of
// the loop leaves the subscription open.
func (s *Subscription) All(ctx context.Context) iter.Seq2[Event, error] {
	return all(ctx, s.Next)
}

// Dropped is how many events were dropped because the subscription's queue was full (a slow
// consumer; see WithPending). It stays at its last count once the subscription is closed.
func (s *Subscription) Dropped() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return s.dropped
	}
	return uint64(C.hms_subscription_dropped(s.ptr))
}

// Close unsubscribes: a Next waiting returns io.EOF at once, and so does every later one.
// Idempotent.
func (s *Subscription) Close() error {
	s.shut(func() {
		s.mu.RLock()
		defer s.mu.RUnlock()
		C.hms_subscription_close(s.ptr)
	})
	return nil
}
