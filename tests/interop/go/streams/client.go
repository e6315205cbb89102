package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// message is an AllTypes with unicode_text and counts set.
func message(text string, counts map[string]int64) *dynamicpb.Message {
	m := dynamicpb.NewMessage(allTypes)
	m.Set(allTypes.Fields().ByName("unicode_text"), protoreflect.ValueOfString(text))
	field := allTypes.Fields().ByName("counts")
	mp := m.Mutable(field).Map()
	for k, v := range counts {
		mp.Set(protoreflect.ValueOfString(k).MapKey(), protoreflect.ValueOfInt64(v))
	}
	return m
}

// stream sends reqs, half-closes, and reads every reply: "text:weight" each, and the error.
func stream(conn *grpc.ClientConn, method string, reqs ...*dynamicpb.Message) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, service+method)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		if err := s.SendMsg(r); err != nil {
			return nil, err
		}
	}
	if err := s.CloseSend(); err != nil {
		return nil, err
	}
	var got []string
	for {
		m := dynamicpb.NewMessage(allTypes)
		err := s.RecvMsg(m)
		if err == io.EOF {
			return got, nil
		}
		if err != nil {
			return got, err
		}
		text := m.Get(allTypes.Fields().ByName("unicode_text")).String()
		got = append(got, fmt.Sprintf("%s:%d", text, m.Get(allTypes.Fields().ByName("weight_mg")).Int()))
	}
}

func expect(name string, got []string, err error, want string, code codes.Code) error {
	if status.Code(err) != code || strings.Join(got, ",") != want {
		return fmt.Errorf("%s: got %v (%v), expected [%s] with %v", name, got, err, want, code)
	}
	return nil
}

// runClient checks the three streaming kinds, an error mid-stream and a long stream.
func runClient(conn *grpc.ClientConn) error {
	got, err := stream(conn, "ServerStream", message("s", map[string]int64{"repeat": 4}))
	if e := expect("server stream", got, err, "s:0,s:1,s:2,s:3", codes.OK); e != nil {
		return e
	}
	got, err = stream(conn, "ClientStream", message("a", nil), message("b", nil), message("c", nil))
	if e := expect("client stream", got, err, "c:3", codes.OK); e != nil {
		return e
	}
	got, err = stream(conn, "Bidi", message("x", nil), message("y", nil), message("z", nil))
	if e := expect("bidi", got, err, "x:0,y:1,z:2", codes.OK); e != nil {
		return e
	}
	got, err = stream(conn, "ServerStream", message("f", map[string]int64{"repeat": 5, "fail_after": 2}))
	if e := expect("error mid-stream", got, err, "f:0,f:1", codes.Aborted); e != nil {
		return e
	}
	if !strings.Contains(status.Convert(err).Message(), "failed after 2 replies") {
		return fmt.Errorf("error mid-stream: message %q", status.Convert(err).Message())
	}
	got, err = stream(conn, "ServerStream", message("n", map[string]int64{"repeat": 10000}))
	if err != nil || len(got) != 10000 || got[9999] != "n:9999" {
		return fmt.Errorf("long stream: %d replies, %v", len(got), err)
	}
	return nil
}
