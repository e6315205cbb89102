package hmsffi

import (
	"context"
	"io"
	"iter"
	"sync"
)

// feed hands what one goroutine takes out of the library (blocked in cgo on one OS thread) to
// the readers, taking an item only when a reader asks for one: nothing is taken ahead of the
// readers, except an item whose reader gave up (its context ended) while it was being taken,
// which goes to the next reader. DurableSubscription reads through such a feed (a durable
// delivery taken early would spend its ack wait unread); closing it ends a waiting read at once.
//
// A feed made by newPrefetchFeed also takes, after each item a reader asked for, what the
// library already holds (without waiting, up to its buffer) for the next reads: events in a
// burst then cost one hand-over between goroutines per buffer, not one each. Subscription
// reads through one: its events wait in the library's queue or in this buffer alike, and
// closing drops both.
type feed[T any] struct {
	want   chan struct{}
	items  chan T
	closed chan struct{}
	once   sync.Once
	// more takes an item the library already holds, without waiting (ok false: none).
	more func() (item T, ok bool)
}

func newFeed[T any]() *feed[T] {
	return &feed[T]{want: make(chan struct{}), items: make(chan T), closed: make(chan struct{})}
}

// newPrefetchFeed is a feed that keeps up to ahead items taken with more for the next reads.
func newPrefetchFeed[T any](ahead int, more func() (T, bool)) *feed[T] {
	return &feed[T]{want: make(chan struct{}), items: make(chan T, ahead), closed: make(chan struct{}), more: more}
}

// run waits for a reader to ask, then calls take until it gives an item (ok true) and hands
// that over, until take reports the end (end true) or the feed is closed; an item taken but
// not handed over because the feed was closed goes to drop. Then it calls done.
func (f *feed[T]) run(take func() (item T, ok, end bool), drop func(T), done func()) {
	defer close(f.items)
	defer done()
	for {
		select {
		case <-f.want:
		case <-f.closed:
			return
		}
		item, ok, end := take()
		for !ok && !end {
			item, ok, end = take()
		}
		if end {
			return
		}
		select {
		case f.items <- item:
		case <-f.closed:
			drop(item)
			return
		}
		// Only this goroutine sends on items: while it has room, a send does not wait.
		for f.more != nil && len(f.items) < cap(f.items) {
			item, ok := f.more()
			if !ok {
				break
			}
			f.items <- item
		}
	}
}

// next asks for the next item and waits for it: io.EOF once the feed is closed, the context's
// error (DeadlineExceeded or Canceled, as *Error) when it ends first.
func (f *feed[T]) next(ctx context.Context) (T, error) {
	var zero T
	select {
	case <-f.closed:
		return zero, io.EOF
	default:
	}
	for {
		select {
		case item, ok := <-f.items:
			if !ok {
				return zero, io.EOF
			}
			return item, nil
		case f.want <- struct{}{}: // the goroutine was idle: it takes one now
		case <-f.closed:
			return zero, io.EOF
		case <-ctx.Done():
			return zero, contextError(ctx)
		}
	}
}

// shut closes the feed once, then calls stop (which ends the library's wait).
func (f *feed[T]) shut(stop func()) {
	f.once.Do(func() {
		close(f.closed)
		stop()
	})
}

// all yields what next gives (an error too: the loop may go on) until io.EOF or ctx ends (its
// error is yielded last).
func all[T any](ctx context.Context, next func(context.Context) (T, error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			item, err := next(ctx)
			if err == io.EOF || !yield(item, err) || ctx.Err() != nil {
				return
			}
		}
	}
}
