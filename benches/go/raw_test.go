package bench

// The floor of the unix rows in echo_test.go: a raw length-prefixed echo (4-byte big-endian
// length, then the body) over a unix socket, Go client -> Go server goroutine in this process,
// no RPC layer at all. Run with the others: make bench-go

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// rawServer accepts on a unix socket in a temp dir and echoes each frame on every connection,
// each in a goroutine of its own; it returns the socket's path and a func that closes the listener.
func rawServer(b *testing.B) (string, func()) {
	return rawListen(b, rawEcho)
}

// rawListen accepts on a unix socket in a temp dir and runs serve on every connection, each in
// a goroutine of its own; it returns the socket's path and a func that closes the listener.
func rawListen(b *testing.B, serve func(net.Conn)) (string, func()) {
	path := filepath.Join(b.TempDir(), "raw.sock")
	lis, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			go serve(conn)
		}
	}()
	return path, func() { lis.Close() }
}

// rawEcho reads frames from conn and writes each back, header and body in one write, until
// the connection ends.
func rawEcho(conn net.Conn) {
	defer conn.Close()
	buf := make([]byte, 4+1024)
	for {
		if _, err := io.ReadFull(conn, buf[:4]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(buf[:4]))
		if cap(buf) < 4+n {
			nb := make([]byte, 4+n)
			copy(nb, buf[:4])
			buf = nb
		}
		buf = buf[:4+n]
		if _, err := io.ReadFull(conn, buf[4:]); err != nil {
			return
		}
		if _, err := conn.Write(buf); err != nil {
			return
		}
	}
}

// rawClient is one connection to rawServer that sends one framed payload and reads its echo.
type rawClient struct {
	conn  net.Conn
	frame []byte // the framed request, written as is
	reply []byte // the last reply's body
}

func dialRaw(b *testing.B, path string) *rawClient {
	conn, err := net.Dial("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	frame := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(payload)), uint32(len(payload)))
	return &rawClient{conn: conn, frame: append(frame, payload...), reply: make([]byte, len(payload))}
}

// call writes the frame and reads the reply's frame into c.reply.
func (c *rawClient) call() error {
	if _, err := c.conn.Write(c.frame); err != nil {
		return err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c.conn, hdr[:]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if cap(c.reply) < n {
		c.reply = make([]byte, n)
	}
	c.reply = c.reply[:n]
	_, err := io.ReadFull(c.conn, c.reply)
	return err
}

// check makes one call and compares the echo with the payload.
func (c *rawClient) check(b *testing.B) {
	if err := c.call(); err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(c.reply, payload) {
		b.Fatal("echo mismatch")
	}
}

func BenchmarkRawUnix(b *testing.B) {
	path, stop := rawServer(b)
	defer stop()
	c := dialRaw(b, path)
	defer c.conn.Close()
	c.check(b)
	measure(b, c.call)
	if !bytes.Equal(c.reply, payload) {
		b.Fatal("echo mismatch")
	}
}

// BenchmarkRawUnix16Callers: the 16 goroutines of callers, each on a connection of its own (a
// raw socket has no multiplexing), taken from and given back to a pool with one per goroutine.
func BenchmarkRawUnix16Callers(b *testing.B) {
	path, stop := rawServer(b)
	defer stop()
	n := max(1, 16/runtime.GOMAXPROCS(0)) * runtime.GOMAXPROCS(0)
	pool := make(chan *rawClient, n)
	for i := 0; i < n; i++ {
		c := dialRaw(b, path)
		defer c.conn.Close()
		c.check(b)
		pool <- c
	}
	callers(b, func(*wrapperspb.BytesValue) error {
		c := <-pool
		defer func() { pool <- c }()
		if err := c.call(); err != nil {
			return err
		}
		if len(c.reply) != len(payload) {
			return errors.New("echo length mismatch")
		}
		return nil
	})
}
