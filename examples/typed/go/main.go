// A typed Go client and server of demo.v1.Greeter, from `hms-ffi gen --lang go`.
//
//	go run . serve unix:///tmp/g.sock   # a typed server, until SIGTERM
//	go run . call unix:///tmp/g.sock    # a typed client of any greeter server
//	go run . both                       # both, in one process (inproc://)
//
// `make test-gen` vets and builds it and runs it against every language's typed server, the
// server-streaming Chatter included.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	demov1 "github.com/hms-ffi/hms-ffi/gen/go/demov1"
	hmsffi "github.com/hms-ffi/hms-ffi/go"
)

type greeter struct{}

func (greeter) SayHello(ctx context.Context, req *demov1.HelloRequest) (*demov1.HelloReply, error) {
	now := time.Now()
	return &demov1.HelloReply{Message: "Hello " + req.Name + " from Go", At: &now}, nil
}

func (greeter) Echo(ctx context.Context, req *demov1.HelloRequest) (*demov1.HelloRequest, error) {
	return req, nil
}

func (greeter) Chatter(ctx context.Context, req *demov1.HelloRequest, send func(*demov1.HelloReply) error) error {
	for i := range req.Times {
		if err := send(&demov1.HelloReply{Message: fmt.Sprintf("#%d hi %s", i, req.Name)}); err != nil {
			return err
		}
	}
	return nil
}

func newServer() (*hmsffi.Server, error) {
	schema, err := hmsffi.LoadSchema("examples/protos/greeter.proto")
	if err != nil {
		return nil, err
	}
	srv, err := hmsffi.NewServer(schema)
	if err != nil {
		return nil, err
	}
	return srv, demov1.RegisterGreeterServer(srv, greeter{})
}

func call(uri string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := hmsffi.Connect(ctx, uri)
	if err != nil {
		return err
	}
	defer c.Close()
	greeter := demov1.NewGreeterClient(c)
	reply, err := greeter.SayHello(ctx, &demov1.HelloRequest{Name: "Ada"})
	if err != nil {
		return err
	}
	fmt.Println(reply.Message)
	for r, err := range greeter.Chatter(ctx, &demov1.HelloRequest{Name: "Ada", Times: 2}) {
		if err != nil {
			fmt.Printf("(Chatter: %v)\n", err)
			break
		}
		fmt.Println(r.Message)
	}
	return nil
}

func run(args []string) error {
	if len(args) == 2 && args[0] == "call" {
		return call(args[1])
	}
	srv, err := newServer()
	if err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())
	if len(args) == 2 && args[0] == "serve" {
		bound, err := srv.Listen(args[1])
		if err != nil {
			return err
		}
		fmt.Println(bound)
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
		<-stop
		return nil
	}
	if _, err := srv.Listen("inproc://typed-greeter-go"); err != nil {
		return err
	}
	return call("inproc://typed-greeter-go")
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
