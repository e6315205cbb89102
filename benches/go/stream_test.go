package bench

// Server streaming over a unix socket, Go client -> Go server: one call streaming N 64-byte
// messages, hms-ffi against grpc-go and against the floor, a raw length-prefixed socket
// stream in Go (the server writes N frames, the client reads them). Each op is one stream of
// streamN messages; the metric is messages per second. Run: make bench-go-streams

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const streamN = 100_000

const streamSchema = `syntax = "proto3"; package bench.v1;
import "google/protobuf/wrappers.proto";
message Blob { bytes data = 1; int64 n = 2; }
service Stream {
  rpc Many(Blob) returns (stream Blob);
  // What grpc-go's row streams: BytesValue both ways, streamN replies.
  rpc ManyProto(google.protobuf.BytesValue) returns (stream google.protobuf.BytesValue);
}`

// perStream runs one stream per op (stream reads every message and returns how many) and
// reports messages per second.
func perStream(b *testing.B, stream func() (int, error)) {
	if _, err := stream(); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	start, total := time.Now(), 0
	for i := 0; i < b.N; i++ {
		n, err := stream()
		if err != nil {
			b.Fatal(err)
		}
		if n != streamN {
			b.Fatalf("%d messages, expected %d", n, streamN)
		}
		total += n
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msg/s")
}

func BenchmarkStreamHmsFfiUnix(b *testing.B) {
	c, stop := hmsUnix(b, func(b *testing.B, uri string) func() {
		return hmsListen(b, uri, "stream.proto", streamSchema, func(srv *hmsffi.Server) error {
			return srv.HandleServerStream("bench.v1.Stream/Many", func(ctx context.Context, req map[string]any, send func(map[string]any) error) error {
				reply := map[string]any{"data": req["data"]}
				for range req["n"].(int64) {
					if err := send(reply); err != nil {
						return err
					}
				}
				return nil
			})
		})
	})
	defer stop()
	req := map[string]any{"data": payload, "n": int64(streamN)}
	perStream(b, func() (int, error) {
		n := 0
		for reply, err := range c.ServerStream(context.Background(), "bench.v1.Stream/Many", req) {
			if err != nil {
				return n, err
			}
			if len(reply["data"].([]byte)) != len(payload) {
				b.Fatal("payload mismatch")
			}
			n++
		}
		return n, nil
	})
}

// The same stream with generated types (hmsffi.HandleServerStreamProto and
// ServerStreamProto): protobuf bytes across the C ABI, as grpc-go's row does.
func BenchmarkStreamHmsFfiUnixProto(b *testing.B) {
	c, stop := hmsUnix(b, func(b *testing.B, uri string) func() {
		return hmsListen(b, uri, "stream.proto", streamSchema, func(srv *hmsffi.Server) error {
			return hmsffi.HandleServerStreamProto(srv, "bench.v1.Stream/ManyProto", func(ctx context.Context, req *wrapperspb.BytesValue, send func(*wrapperspb.BytesValue) error) error {
				for range streamN {
					if err := send(req); err != nil {
						return err
					}
				}
				return nil
			})
		})
	})
	defer stop()
	req := wrapperspb.Bytes(payload)
	perStream(b, func() (int, error) {
		n := 0
		for reply, err := range hmsffi.ServerStreamProto[*wrapperspb.BytesValue, *wrapperspb.BytesValue](context.Background(), c, "bench.v1.Stream/ManyProto", req) {
			if err != nil {
				return n, err
			}
			if len(reply.GetValue()) != len(payload) {
				b.Fatal("payload mismatch")
			}
			n++
		}
		return n, nil
	})
}

func BenchmarkStreamGrpcGoUnix(b *testing.B) {
	conn, stop := grpcUnix(b, &grpc.ServiceDesc{
		ServiceName: "bench.v1.Stream",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{StreamName: "Many", ServerStreams: true, Handler: func(_ any, stream grpc.ServerStream) error {
			req := &wrapperspb.BytesValue{}
			if err := stream.RecvMsg(req); err != nil {
				return err
			}
			for range streamN {
				if err := stream.SendMsg(req); err != nil {
					return err
				}
			}
			return nil
		}}},
	})
	defer stop()
	desc := &grpc.StreamDesc{ServerStreams: true}
	perStream(b, func() (int, error) {
		s, err := conn.NewStream(context.Background(), desc, "/bench.v1.Stream/Many")
		if err != nil {
			return 0, err
		}
		if err := s.SendMsg(wrapperspb.Bytes(payload)); err != nil {
			return 0, err
		}
		if err := s.CloseSend(); err != nil {
			return 0, err
		}
		n, reply := 0, &wrapperspb.BytesValue{}
		for {
			if err := s.RecvMsg(reply); err == io.EOF {
				return n, nil
			} else if err != nil {
				return n, err
			}
			n++
		}
	})
}

// BenchmarkStreamRawUnix is the floor: per op, the client sends one request frame carrying N;
// the server answers with N length-prefixed 64-byte frames, buffered as a stream would be.
func BenchmarkStreamRawUnix(b *testing.B) {
	path, stopRaw := rawListen(b, rawStreamServe)
	defer stopRaw()
	conn, err := net.Dial("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReaderSize(conn, 64<<10)
	frame := make([]byte, 4+64)
	perStream(b, func() (int, error) {
		var req [4]byte
		binary.BigEndian.PutUint32(req[:], streamN)
		if _, err := conn.Write(req[:]); err != nil {
			return 0, err
		}
		for n := 0; n < streamN; n++ {
			if _, err := io.ReadFull(r, frame); err != nil {
				return n, err
			}
		}
		return streamN, nil
	})
}

// rawStreamServe answers each 4-byte count with that many frames.
func rawStreamServe(conn net.Conn) {
	defer conn.Close()
	w := bufio.NewWriterSize(conn, 64<<10)
	frame := make([]byte, 4+64)
	binary.BigEndian.PutUint32(frame, 64)
	copy(frame[4:], payload)
	var req [4]byte
	for {
		if _, err := io.ReadFull(conn, req[:]); err != nil {
			return
		}
		for range binary.BigEndian.Uint32(req[:]) {
			if _, err := w.Write(frame); err != nil {
				return
			}
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}
