package main

import (
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

func aborted(sent int) error {
	return status.Errorf(codes.Aborted, "failed after %d replies", sent)
}

// numbered is a copy of m with weight_mg set to i.
func numbered(m *dynamicpb.Message, i int) *dynamicpb.Message {
	out := proto.Clone(m).(*dynamicpb.Message)
	out.Set(allTypes.Fields().ByName("weight_mg"), protoreflect.ValueOfInt64(int64(i)))
	return out
}

// count is m's counts[key], and whether it is there.
func count(m *dynamicpb.Message, key string) (int64, bool) {
	mp := m.Get(allTypes.Fields().ByName("counts")).Map()
	v := mp.Get(protoreflect.ValueOfString(key).MapKey())
	if !v.IsValid() {
		return 0, false
	}
	return v.Int(), true
}

func recv(stream grpc.ServerStream) (*dynamicpb.Message, error) {
	m := dynamicpb.NewMessage(allTypes)
	return m, stream.RecvMsg(m)
}

// handle serves the streaming methods of hms.conformance.v1.Conformance.
func handle(_ any, stream grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(stream)
	switch method {
	case service + "ServerStream":
		req, err := recv(stream)
		if err != nil {
			return err
		}
		repeat, ok := count(req, "repeat")
		if !ok {
			repeat = 3
		}
		failAfter, fails := count(req, "fail_after")
		sleep, _ := count(req, "sleep_ms")
		for i := 0; i < int(repeat); i++ {
			if fails && int64(i) == failAfter {
				return aborted(i)
			}
			select {
			case <-time.After(time.Duration(sleep) * time.Millisecond):
			case <-stream.Context().Done():
				return status.FromContextError(stream.Context().Err()).Err()
			}
			if err := stream.SendMsg(numbered(req, i)); err != nil {
				return err
			}
		}
		return nil
	case service + "ClientStream":
		last, n := dynamicpb.NewMessage(allTypes), 0
		for {
			req, err := recv(stream)
			if err == io.EOF {
				return stream.SendMsg(numbered(last, n))
			}
			if err != nil {
				return err
			}
			last, n = req, n+1
		}
	case service + "Bidi":
		for i := 0; ; i++ {
			req, err := recv(stream)
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if _, fail := count(req, "fail"); fail {
				return aborted(i)
			}
			if err := stream.SendMsg(numbered(req, i)); err != nil {
				return err
			}
		}
	}
	return status.Error(codes.Unimplemented, fmt.Sprintf("%s is not served here", method))
}
