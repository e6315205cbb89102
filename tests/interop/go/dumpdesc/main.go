// Command dumpdesc writes the descriptors of grpc-go's interop service (grpc.testing.TestService
// and the messages it uses), as compiled into the grpc module, to a serialized
// FileDescriptorSet: the schema the hms-ffi interop server loads at runtime. The grpc module
// ships the generated Go code of test.proto, messages.proto and empty.proto, not the .proto
// files, so the descriptors come from there.
//
//	go run ./dumpdesc OUT.binpb
package main

import (
	"fmt"
	"os"

	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dumpdesc OUT.binpb")
		os.Exit(2)
	}
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := 0; i < imports.Len(); i++ {
			add(imports.Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(testpb.File_grpc_testing_test_proto)
	out, err := proto.Marshal(set)
	if err == nil {
		err = os.WriteFile(os.Args[1], out, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dumpdesc:", err)
		os.Exit(1)
	}
}
