package hmsffi

/*
#include "hms_ffi.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Delivery is one delivery of an event by a DurableSubscription, to be answered once: Ack
// when handled, Nak to have it again, Term to never have it again, InProgress to restart its
// ack wait. One left unanswered comes again after the ack wait. Each answer returns once the
// server has confirmed it. Safe for concurrent use.
type Delivery struct {
	// Topic is the topic it was published on.
	Topic string
	// Message is the message, decoded through the subscriber's declared type of the topic and
	// the bus's converters (WithBusConverters).
	Message map[string]any
	// Sequence is its sequence in the stream (replay from it with WithStartSequence).
	Sequence uint64
	// Delivered is how many times it has been delivered, this time included.
	Delivered uint32

	body []byte
	mu   sync.RWMutex
	ptr  *C.HmsDelivery // nil once freed
}

func newDelivery(ptr *C.HmsDelivery, topic string, body []byte) *Delivery {
	d := &Delivery{
		Topic:     topic,
		Sequence:  uint64(C.hms_delivery_sequence(ptr)),
		Delivered: uint32(C.hms_delivery_delivered(ptr)),
		body:      body,
		ptr:       ptr,
	}
	runtime.SetFinalizer(d, (*Delivery).free)
	return d
}

// decode makes Message from the CBOR the library handed over.
func (d *Delivery) decode(convs converters) error {
	m, err := convs.value(d.body, nil)
	d.Message, d.body = m, nil
	return err
}

func (d *Delivery) free() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ptr != nil {
		C.hms_delivery_free(d.ptr)
		d.ptr = nil
	}
}

// answer sends one answer from a goroutine of its own (blocked in cgo until the server
// confirms) and waits for it or for ctx, whichever ends first.
func (d *Delivery) answer(ctx context.Context, f func(*C.HmsDelivery, **C.HmsError) C.int32_t) error {
	if err := ctx.Err(); err != nil {
		return contextError(ctx)
	}
	ch := make(chan error, 1)
	go func() {
		d.mu.RLock()
		defer d.mu.RUnlock()
		var e *C.HmsError
		if f(d.ptr, &e) != 0 {
			ch <- takeError(e)
			return
		}
		ch <- nil
	}()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return contextError(ctx)
	}
}

// Ack says it was handled: it is not delivered again, even when the process stops right after
// Ack returned.
func (d *Delivery) Ack(ctx context.Context) error {
	return d.answer(ctx, func(p *C.HmsDelivery, e **C.HmsError) C.int32_t { return C.hms_delivery_ack(p, e) })
}

// Nak says it was not handled: it is delivered again, after delay (0: at once).
func (d *Delivery) Nak(ctx context.Context, delay time.Duration) error {
	ms := C.int64_t(-1)
	if delay > 0 {
		ms = C.int64_t(delay.Milliseconds())
	}
	return d.answer(ctx, func(p *C.HmsDelivery, e **C.HmsError) C.int32_t { return C.hms_delivery_nak(p, ms, e) })
}

// Term says it is never to be delivered again, though it was not handled.
func (d *Delivery) Term(ctx context.Context) error {
	return d.answer(ctx, func(p *C.HmsDelivery, e **C.HmsError) C.int32_t { return C.hms_delivery_term(p, e) })
}

// InProgress says it is still being handled: its ack wait starts again.
func (d *Delivery) InProgress(ctx context.Context) error {
	return d.answer(ctx, func(p *C.HmsDelivery, e **C.HmsError) C.int32_t { return C.hms_delivery_in_progress(p, e) })
}
