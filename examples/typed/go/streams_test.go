// The three stream kinds of hms.conformance.v1.Conformance, typed by `hms-ffi gen --lang go`: a
// generated client calls a generated server over inproc — a server stream ranged over as an
// iter.Seq2, a client stream sent from an iter.Seq, a bidirectional stream sent and received by
// hand — as StreamsTyped.kt, streams_typed.py and streams_typed.ts do in their languages.
//
//	go test -count=1 -run TestStreamsTyped .   # from examples/typed/go; `make test-gen` runs it
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	conf "github.com/hms-ffi/hms-ffi/gen/go/hmsconformancev1"
	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

// streams serves the three streaming methods; the unary ones are not served.
type streams struct{}

func (streams) Echo(context.Context, *conf.AllTypes) (*conf.AllTypes, error) {
	return nil, errors.New("not served")
}

func (streams) Fail(context.Context, *conf.FailRequest) (*conf.ProtobufEmpty, error) {
	return nil, errors.New("not served")
}

func (streams) Sleep(context.Context, *conf.SleepRequest) (*conf.ProtobufEmpty, error) {
	return nil, errors.New("not served")
}

func (streams) EchoScalars(context.Context, *conf.Scalars) (*conf.Scalars, error) {
	return nil, errors.New("not served")
}

// ServerStream sends one reply per tag of the request, numbered.
func (streams) ServerStream(ctx context.Context, req *conf.AllTypes, send func(*conf.AllTypes) error) error {
	for i, tag := range req.Tags {
		n := int64(i)
		if err := send(&conf.AllTypes{Tags: []string{tag}, Number: &n}); err != nil {
			return err
		}
	}
	return nil
}

// ClientStream gives every request's items in one reply, with the quantity of each by name.
func (streams) ClientStream(ctx context.Context, reqs iter.Seq2[*conf.AllTypes, error]) (*conf.AllTypes, error) {
	total := &conf.AllTypes{Counts: map[string]int64{}}
	for r, err := range reqs {
		if err != nil {
			return nil, err
		}
		for _, item := range r.Items {
			total.Items = append(total.Items, item)
			total.Counts[item.Name] += int64(item.Qty)
		}
	}
	return total, nil
}

// Bidi replies to each request as it comes: its text upper-cased, its numbers summed.
func (streams) Bidi(ctx context.Context, stream *conf.BidiStreamingServer[*conf.AllTypes, *conf.AllTypes]) error {
	for r, err := range stream.All() {
		if err != nil {
			return err
		}
		var sum int64
		for _, n := range r.Numbers {
			sum += n
		}
		reply := &conf.AllTypes{WrappedInt: &sum}
		if r.Text != nil {
			upper := strings.ToUpper(*r.Text)
			reply.Text = &upper
		}
		if err := stream.Send(reply); err != nil {
			return err
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func TestStreamsTyped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema, err := hmsffi.LoadSchema("../../../tests/conformance/conformance.proto")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hmsffi.NewServer(schema)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	if err := conf.RegisterConformanceServer(srv, streams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Listen("inproc://typed-streams-go"); err != nil {
		t.Fatal(err)
	}
	c, err := hmsffi.Connect(ctx, "inproc://typed-streams-go")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client := conf.NewConformanceClient(c)

	var numbered []string
	for r, err := range client.ServerStream(ctx, &conf.AllTypes{Tags: []string{"a", "b", "c"}}) {
		if err != nil {
			t.Fatal(err)
		}
		numbered = append(numbered, fmt.Sprintf("%s %d", r.Tags[0], *r.Number))
	}
	if want := []string{"a 0", "b 1", "c 2"}; !slices.Equal(numbered, want) {
		t.Fatalf("server streaming: got %v, want %v", numbered, want)
	}

	orders := slices.Values([]*conf.AllTypes{
		{Items: []*conf.Item{{Name: "tea", Price: 2.5, Qty: 2}}},
		{Items: []*conf.Item{{Name: "cake", Price: 4, Qty: 1}}},
	})
	total, err := client.ClientStream(ctx, orders)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int64{"tea": 2, "cake": 1}; !maps.Equal(total.Counts, want) || len(total.Items) != 2 {
		t.Fatalf("client streaming: got %v and %d items, want %v and 2", total.Counts, len(total.Items), want)
	}

	chat, err := client.Bidi(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []*conf.AllTypes
	for _, said := range []*conf.AllTypes{{Text: ptr("hi"), Numbers: []int64{1, 2}}, {Numbers: []int64{40, 2}}} {
		if err := chat.Send(said); err != nil {
			t.Fatal(err)
		}
		reply, err := chat.Recv()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, &conf.AllTypes{Text: reply.Text, WrappedInt: reply.WrappedInt})
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("bidi: after the requests ended: %v, want io.EOF", err)
	}
	want := []*conf.AllTypes{{Text: ptr("HI"), WrappedInt: ptr(int64(3))}, {WrappedInt: ptr(int64(42))}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("bidi streaming: got %+v, want %+v", got, want)
	}
}
