// Command streams is a stock grpc-go peer of the conformance service's streaming methods, with
// nothing of hms-ffi: it reads the schema from a serialized FileDescriptorSet (made by
// grpcio-tools in the interop tests) and builds messages with dynamicpb.
//
//	streams client DESCRIPTORS.binpb HOST:PORT  # streams against a server over grpc-go's own
//	                                            # ClientConn: the three kinds, an error
//	                                            # mid-stream, a long stream; exits 0 when all pass
//	streams serve DESCRIPTORS.binpb PORT        # serves ServerStream, ClientStream and Bidi as
//	                                            # tests/conformance/README.md ("Streaming")
//	                                            # specifies them, on grpc-go's own Server, until
//	                                            # SIGTERM; prints "ready"
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

const service = "/hms.conformance.v1.Conformance/"

// allTypes is hms.conformance.v1.AllTypes, every streaming method's request and reply.
var allTypes protoreflect.MessageDescriptor

func load(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	set := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(raw, set); err != nil {
		return err
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return err
	}
	d, err := files.FindDescriptorByName("hms.conformance.v1.AllTypes")
	if err != nil {
		return err
	}
	var ok bool
	if allTypes, ok = d.(protoreflect.MessageDescriptor); !ok {
		return errors.New("hms.conformance.v1.AllTypes is not a message")
	}
	return nil
}

// limit lets the vectors' megabyte messages through grpc-go's 4 MiB default.
const limit = 16 << 20

func client(addr string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit)))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := runClient(conn); err != nil {
		return err
	}
	fmt.Println("every streaming check passed")
	return nil
}

func serve(port string) error {
	lis, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		return err
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(handle), grpc.MaxRecvMsgSize(limit), grpc.MaxSendMsgSize(limit))
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
		<-sig
		srv.Stop()
	}()
	fmt.Println("ready")
	return srv.Serve(lis)
}

func main() {
	if len(os.Args) != 4 || (os.Args[1] != "client" && os.Args[1] != "serve") {
		fmt.Fprintln(os.Stderr, "usage: streams client DESCRIPTORS.binpb HOST:PORT | streams serve DESCRIPTORS.binpb PORT")
		os.Exit(2)
	}
	err := load(os.Args[2])
	if err == nil && os.Args[1] == "client" {
		err = client(os.Args[3])
	} else if err == nil {
		err = serve(os.Args[3])
	}
	if err != nil {
		fmt.Println("FAIL", err)
		os.Exit(1)
	}
}
