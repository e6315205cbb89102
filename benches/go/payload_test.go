// Nested messages of about 64 B, 1 KiB and 64 KiB on the wire (the Order/Item shapes of
// benches/python/payload_bench.py): Go client -> Go server over a unix socket, hms-ffi against
// grpc-go, and hms-ffi's value path against the stock protobuf library (google.golang.org/protobuf).
//
// Every row starts from the same native data, the map[string]any that hms-ffi's Client.Call
// takes (order(size)), and the servers run in this process:
//
//   - HmsFfiUnix: Client.Call(ctx, method, order, &reply) over unix://; the server (Server.Handle)
//     returns the map it is given;
//   - GrpcGoUnix: each call, the client builds a dynamicpb Order from the map with protoreflect
//     setters (toMessage), Invokes it over a unix socket, and turns the reply back into a map
//     (fromMessage); the server decodes the request into a dynamicpb Order and returns it. The
//     message type is made at run time from a hand-written descriptorpb.FileDescriptorProto of
//     the same .proto (no protoc; the Go binding exposes no descriptors), checked once per size
//     against hms-ffi's compiled schema (an Order's bytes sent through hms-ffi come back as the
//     same map);
//   - HmsFfiInproc: the HmsFfiUnix call to a server in this process over inproc:// (no socket,
//     both ends' value walks);
//   - ProtoWalk: what that inproc call does with the stock library, without any call: twice
//     map -> message (toMessage) -> bytes (proto.Marshal) -> message (proto.Unmarshal) -> map
//     (fromMessage).
//
// Each row checks once that the echo equals what was sent, then reports the sequential p50/p99
// of one caller and the Order's size on the wire (wire-B). Run: make bench-go-payloads

package bench

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"testing"

	hmsffi "github.com/hms-ffi/hms-ffi/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// ordersProto is the payload benches' schema, shared with the Python and Node benches.
var ordersProto = func() string {
	b, err := os.ReadFile("../protos/orders.proto")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

const ordersMethod = "bench.v1.Orders/Echo"

// order is an Order of about size bytes on the wire: items of about 100 bytes (strings, an
// int64, a double, repeated strings, bytes) and string labels; below 100 bytes, no items. The
// values have the Go types hms-ffi's replies carry (int64, []any, map[string]any).
func order(size int) map[string]any {
	if size < 100 {
		return map[string]any{"id": "order-0001", "payload": make([]byte, size-16), "status": int64(2)}
	}
	items := make([]any, size/100)
	for i := range items {
		blob := make([]byte, 48)
		for j := range blob {
			blob[j] = byte(i%7 + j)
		}
		items[i] = map[string]any{
			"name":  fmt.Sprintf("item number %d", i),
			"id":    int64(1_000_000 + i),
			"price": 9.99 + float64(i),
			"tags":  []any{"red", "large", fmt.Sprintf("t%d", i)},
			"blob":  blob,
		}
	}
	return map[string]any{
		"id":      "order-0001",
		"items":   items,
		"labels":  map[string]any{"region": "eu-west", "tier": "gold"},
		"payload": make([]byte, 16),
		"status":  int64(2),
	}
}

// orderDesc is bench.v1.Order built from a descriptor written by hand after ordersProto.
var orderDesc = func() protoreflect.MessageDescriptor {
	s := proto.String
	const (
		optional = descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
		repeated = descriptorpb.FieldDescriptorProto_LABEL_REPEATED
		str      = descriptorpb.FieldDescriptorProto_TYPE_STRING
		i64      = descriptorpb.FieldDescriptorProto_TYPE_INT64
		i32      = descriptorpb.FieldDescriptorProto_TYPE_INT32
		dbl      = descriptorpb.FieldDescriptorProto_TYPE_DOUBLE
		byts     = descriptorpb.FieldDescriptorProto_TYPE_BYTES
		msg      = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	)
	field := func(name string, n int32, l descriptorpb.FieldDescriptorProto_Label, t descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: s(name), Number: proto.Int32(n), Label: l.Enum(), Type: t.Enum()}
		if typeName != "" {
			f.TypeName = s(typeName)
		}
		return f
	}
	file := &descriptorpb.FileDescriptorProto{
		Name: s("orders.proto"), Package: s("bench.v1"), Syntax: s("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: s("Item"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, optional, str, ""),
				field("id", 2, optional, i64, ""),
				field("price", 3, optional, dbl, ""),
				field("tags", 4, repeated, str, ""),
				field("blob", 5, optional, byts, ""),
			},
		}, {
			Name: s("Order"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("id", 1, optional, str, ""),
				field("items", 2, repeated, msg, ".bench.v1.Item"),
				field("labels", 3, repeated, msg, ".bench.v1.Order.LabelsEntry"),
				field("payload", 4, optional, byts, ""),
				field("status", 5, optional, i32, ""),
			},
			NestedType: []*descriptorpb.DescriptorProto{{
				Name:    s("LabelsEntry"),
				Field:   []*descriptorpb.FieldDescriptorProto{field("key", 1, optional, str, ""), field("value", 2, optional, str, "")},
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
			}},
		}},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name:   s("Orders"),
			Method: []*descriptorpb.MethodDescriptorProto{{Name: s("Echo"), InputType: s(".bench.v1.Order"), OutputType: s(".bench.v1.Order")}},
		}},
	}
	fd, err := protodesc.NewFile(file, nil)
	if err != nil {
		panic(err)
	}
	return fd.Messages().ByName("Order")
}()

func newOrder() proto.Message { return dynamicpb.NewMessage(orderDesc) }

// toMessage sets m's fields from a map such as order gives (field names as in the .proto).
func toMessage(v map[string]any, m protoreflect.Message) error {
	fields := m.Descriptor().Fields()
	for k, x := range v {
		fd := fields.ByName(protoreflect.Name(k))
		if fd == nil {
			return fmt.Errorf("%s has no field %q", m.Descriptor().FullName(), k)
		}
		switch {
		case fd.IsMap():
			entries, ok := x.(map[string]any)
			if !ok {
				return fmt.Errorf("%s: expected map[string]any, got %T", k, x)
			}
			mp := m.Mutable(fd).Map()
			for ek, ev := range entries {
				key, err := scalar(fd.MapKey(), ek)
				if err != nil {
					return err
				}
				val, err := element(fd.MapValue(), ev, mp.NewValue)
				if err != nil {
					return err
				}
				mp.Set(key.MapKey(), val)
			}
		case fd.IsList():
			items, ok := x.([]any)
			if !ok {
				return fmt.Errorf("%s: expected []any, got %T", k, x)
			}
			l := m.Mutable(fd).List()
			for _, e := range items {
				val, err := element(fd, e, l.NewElement)
				if err != nil {
					return err
				}
				l.Append(val)
			}
		default:
			val, err := element(fd, x, func() protoreflect.Value { return m.NewField(fd) })
			if err != nil {
				return err
			}
			m.Set(fd, val)
		}
	}
	return nil
}

// element is one value of fd's type: a message filled from a map in a new value, or a scalar.
func element(fd protoreflect.FieldDescriptor, x any, newValue func() protoreflect.Value) (protoreflect.Value, error) {
	if fd.Message() == nil {
		return scalar(fd, x)
	}
	sub, ok := x.(map[string]any)
	if !ok {
		return protoreflect.Value{}, fmt.Errorf("%s: expected map[string]any, got %T", fd.FullName(), x)
	}
	val := newValue()
	return val, toMessage(sub, val.Message())
}

func scalar(fd protoreflect.FieldDescriptor, x any) (protoreflect.Value, error) {
	var ok bool
	var v protoreflect.Value
	switch fd.Kind() {
	case protoreflect.StringKind:
		var s string
		s, ok = x.(string)
		v = protoreflect.ValueOfString(s)
	case protoreflect.BytesKind:
		var b []byte
		b, ok = x.([]byte)
		v = protoreflect.ValueOfBytes(b)
	case protoreflect.BoolKind:
		var b bool
		b, ok = x.(bool)
		v = protoreflect.ValueOfBool(b)
	case protoreflect.DoubleKind:
		var f float64
		f, ok = x.(float64)
		v = protoreflect.ValueOfFloat64(f)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		var n int64
		n, ok = x.(int64)
		v = protoreflect.ValueOfInt64(n)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		var n int64
		n, ok = x.(int64)
		ok = ok && int64(int32(n)) == n
		v = protoreflect.ValueOfInt32(int32(n))
	default:
		return v, fmt.Errorf("%s: %s fields are not used here", fd.FullName(), fd.Kind())
	}
	if !ok {
		return v, fmt.Errorf("%s: cannot take %T (%v) for %s", fd.FullName(), x, x, fd.Kind())
	}
	return v, nil
}

// fromMessage is m's populated fields as a map of the types order uses.
func fromMessage(m protoreflect.Message) map[string]any {
	out := make(map[string]any, m.Descriptor().Fields().Len())
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			entries := make(map[string]any, v.Map().Len())
			v.Map().Range(func(k protoreflect.MapKey, e protoreflect.Value) bool {
				entries[k.String()] = fromValue(fd.MapValue(), e)
				return true
			})
			out[string(fd.Name())] = entries
		case fd.IsList():
			l := v.List()
			items := make([]any, l.Len())
			for i := range items {
				items[i] = fromValue(fd, l.Get(i))
			}
			out[string(fd.Name())] = items
		default:
			out[string(fd.Name())] = fromValue(fd, v)
		}
		return true
	})
	return out
}

func fromValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return fromMessage(v.Message())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int()
	}
	return v.Interface() // string, []byte, bool, float64
}

// echoed fails b unless reply holds every field of sent with the same value (hms-ffi's replies
// also carry the fields left at their defaults).
func echoed(b *testing.B, row string, sent, reply map[string]any) {
	for k, v := range sent {
		if !reflect.DeepEqual(reply[k], v) {
			b.Fatalf("%s: the echo differs at %q: sent %v, got %v", row, k, v, reply[k])
		}
	}
}

// BenchmarkPayload runs the four rows of the file comment for each size.
func BenchmarkPayload(b *testing.B) {
	ctx := context.Background()
	serve := func(b *testing.B, uri string) func() {
		return hmsListen(b, uri, "orders.proto", ordersProto, func(srv *hmsffi.Server) error {
			return srv.Handle(ordersMethod, func(ctx context.Context, req map[string]any) (map[string]any, error) { return req, nil })
		})
	}
	unix, stopUnix := hmsUnix(b, serve)
	defer stopUnix()
	defer serve(b, "inproc://go-bench-orders")()
	inproc, err := hmsffi.Connect(ctx, "inproc://go-bench-orders")
	if err != nil {
		b.Fatal(err)
	}
	defer inproc.Close()
	conn, stopGrpc := grpcEcho(b, "bench.v1.Orders", newOrder)
	defer stopGrpc()

	hmsCall := func(c *hmsffi.Client, data map[string]any) (map[string]any, error) {
		var reply map[string]any
		err := c.Call(ctx, ordersMethod, data, &reply)
		return reply, err
	}
	grpcCall := func(data map[string]any) (map[string]any, error) {
		req, reply := dynamicpb.NewMessage(orderDesc), dynamicpb.NewMessage(orderDesc)
		if err := toMessage(data, req); err != nil {
			return nil, err
		}
		if err := conn.Invoke(ctx, "/"+ordersMethod, req, reply); err != nil {
			return nil, err
		}
		return fromMessage(reply), nil
	}
	protoWalk := func(data map[string]any) (map[string]any, error) {
		var out map[string]any
		for range 2 {
			m := dynamicpb.NewMessage(orderDesc)
			if err := toMessage(data, m); err != nil {
				return nil, err
			}
			wire, err := proto.Marshal(m)
			if err != nil {
				return nil, err
			}
			back := dynamicpb.NewMessage(orderDesc)
			if err := proto.Unmarshal(wire, back); err != nil {
				return nil, err
			}
			out = fromMessage(back)
		}
		return out, nil
	}
	rows := []struct {
		name string
		call func(map[string]any) (map[string]any, error)
	}{
		{"HmsFfiUnix", func(d map[string]any) (map[string]any, error) { return hmsCall(unix, d) }},
		{"GrpcGoUnix", grpcCall},
		{"HmsFfiInproc", func(d map[string]any) (map[string]any, error) { return hmsCall(inproc, d) }},
		{"ProtoWalk", protoWalk},
	}

	for _, size := range []struct {
		label string
		n     int
	}{{"64B", 64}, {"1KiB", 1024}, {"64KiB", 64 * 1024}} {
		data := order(size.n)
		msg := dynamicpb.NewMessage(orderDesc)
		if err := toMessage(data, msg); err != nil {
			b.Fatal(err)
		}
		wire, err := proto.Marshal(msg)
		if err != nil {
			b.Fatal(err)
		}
		// The hand-written descriptor agrees with ordersProto: hms-ffi, which compiled the .proto
		// text, decodes the dynamicpb Order's bytes and encodes its reply with its own schema.
		back := dynamicpb.NewMessage(orderDesc)
		if err := unix.Call(ctx, ordersMethod, msg, back); err != nil {
			b.Fatal(err)
		}
		echoed(b, "descriptor", data, fromMessage(back))
		for _, row := range rows {
			b.Run(size.label+"/"+row.name, func(b *testing.B) {
				reply, err := row.call(data)
				if err != nil {
					b.Fatal(err)
				}
				echoed(b, row.name, data, reply)
				measure(b, func() error { _, err := row.call(data); return err })
				b.ReportMetric(float64(len(wire)), "wire-B")
			})
		}
	}
}
