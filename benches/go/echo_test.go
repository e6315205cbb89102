// Package bench compares a 64-byte echo over a unix socket: hms-ffi (Go client -> Go server,
// through the C ABI) against grpc-go, in the same run. Each benchmark reports its p50 and p99
// latency as extra metrics. Run: make bench-go
package bench

import (
	"context"
	"net"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

var payload = func() []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}()

const schema = `syntax = "proto3"; package bench.v1; import "google/protobuf/wrappers.proto";
message Blob { bytes data = 1; }
service Echo { rpc Echo(google.protobuf.BytesValue) returns (google.protobuf.BytesValue); rpc EchoBlob(Blob) returns (Blob); }`

// measure runs f b.N times and reports p50/p99 besides criterion-like ns/op.
func measure(b *testing.B, f func() error) {
	for i := 0; i < 200; i++ {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// callers runs f from 16 goroutines at once (8 per GOMAXPROCS on this 2-core machine) and
// reports the calls per second.
func callers(b *testing.B, f func(reply *wrapperspb.BytesValue) error) {
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		reply := &wrapperspb.BytesValue{}
		for pb.Next() {
			if err := f(reply); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}

// hmsServer serves the echo schema's two methods at uri.
func hmsServer(b *testing.B, uri string) func() {
	return hmsListen(b, uri, "echo.proto", schema, func(srv *hmsffi.Server) error {
		err := hmsffi.HandleProto(srv, "bench.v1.Echo/Echo", func(ctx context.Context, req *wrapperspb.BytesValue) (proto.Message, error) {
			return req, nil
		})
		if err != nil {
			return err
		}
		return srv.Handle("bench.v1.Echo/EchoBlob", func(ctx context.Context, req map[string]any) (map[string]any, error) { return req, nil })
	})
}

// hmsListen compiles the .proto text source, lets register add the handlers and serves at uri;
// the returned func shuts the server down.
func hmsListen(b *testing.B, uri, name, source string, register func(*hmsffi.Server) error) func() {
	s, err := hmsffi.SchemaFromSource(name, source)
	if err != nil {
		b.Fatal(err)
	}
	srv, _ := hmsffi.NewServer(s)
	if err := register(srv); err != nil {
		b.Fatal(err)
	}
	if _, err := srv.Listen(uri); err != nil {
		b.Fatal(err)
	}
	return func() { srv.Shutdown(context.Background()) }
}

// hmsUnix starts an hms-ffi server (serve, e.g. hmsServer) on a unix socket and connects to it.
func hmsUnix(b *testing.B, serve func(b *testing.B, uri string) func()) (*hmsffi.Client, func()) {
	uri := "unix://" + filepath.Join(b.TempDir(), "hms.sock")
	stop := serve(b, uri)
	c, err := hmsffi.Connect(context.Background(), uri)
	if err != nil {
		b.Fatal(err)
	}
	return c, func() { c.Close(); stop() }
}

func BenchmarkHmsFfiUnix(b *testing.B) {
	c, stop := hmsUnix(b, hmsServer)
	defer stop()
	req, reply := wrapperspb.Bytes(payload), &wrapperspb.BytesValue{}
	measure(b, func() error { return c.Call(context.Background(), "bench.v1.Echo/Echo", req, reply) })
	if string(reply.GetValue()) != string(payload) {
		b.Fatal("echo mismatch")
	}
}

func BenchmarkHmsFfiUnixMap(b *testing.B) {
	uri := "unix://" + filepath.Join(b.TempDir(), "hms.sock")
	defer hmsServer(b, uri)()
	c, _ := hmsffi.Connect(context.Background(), uri)
	defer c.Close()
	var reply map[string]any
	req := map[string]any{"data": payload}
	measure(b, func() error { return c.Call(context.Background(), "bench.v1.Echo/EchoBlob", req, &reply) })
	if string(reply["data"].([]byte)) != string(payload) {
		b.Fatal("echo mismatch")
	}
}

func BenchmarkHmsFfiInproc(b *testing.B) {
	defer hmsServer(b, "inproc://go-bench")()
	c, _ := hmsffi.Connect(context.Background(), "inproc://go-bench")
	defer c.Close()
	req, reply := wrapperspb.Bytes(payload), &wrapperspb.BytesValue{}
	measure(b, func() error { return c.Call(context.Background(), "bench.v1.Echo/Echo", req, reply) })
}

// grpcEcho starts a grpc-go server on a unix socket whose method service/Echo decodes the
// request into newMsg() and returns it, and connects to it.
func grpcEcho(b *testing.B, service string, newMsg func() proto.Message) (*grpc.ClientConn, func()) {
	return grpcUnix(b, &grpc.ServiceDesc{
		ServiceName: service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Echo", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			req := newMsg()
			if err := dec(req); err != nil {
				return nil, err
			}
			return req, nil
		}}},
	})
}

// grpcUnix serves desc with grpc-go on a unix socket in a temp dir and connects to it.
func grpcUnix(b *testing.B, desc *grpc.ServiceDesc) (*grpc.ClientConn, func()) {
	path := filepath.Join(b.TempDir(), "grpc.sock")
	lis, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	srv.RegisterService(desc, struct{}{})
	go srv.Serve(lis)
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithAuthority("localhost"))
	if err != nil {
		b.Fatal(err)
	}
	return conn, func() { conn.Close(); srv.Stop() }
}

func newBytesValue() proto.Message { return &wrapperspb.BytesValue{} }

func BenchmarkGrpcGoUnix(b *testing.B) {
	conn, stop := grpcEcho(b, "bench.v1.Echo", newBytesValue)
	defer stop()
	req, reply := wrapperspb.Bytes(payload), &wrapperspb.BytesValue{}
	measure(b, func() error { return conn.Invoke(context.Background(), "/bench.v1.Echo/Echo", req, reply) })
	if string(reply.GetValue()) != string(payload) {
		b.Fatal("echo mismatch")
	}
}

func BenchmarkHmsFfiUnix16Callers(b *testing.B) {
	c, stop := hmsUnix(b, hmsServer)
	defer stop()
	req := wrapperspb.Bytes(payload)
	callers(b, func(reply *wrapperspb.BytesValue) error {
		return c.Call(context.Background(), "bench.v1.Echo/Echo", req, reply)
	})
}

func BenchmarkGrpcGoUnix16Callers(b *testing.B) {
	conn, stop := grpcEcho(b, "bench.v1.Echo", newBytesValue)
	defer stop()
	req := wrapperspb.Bytes(payload)
	callers(b, func(reply *wrapperspb.BytesValue) error {
		return conn.Invoke(context.Background(), "/bench.v1.Echo/Echo", req, reply)
	})
}
