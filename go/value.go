package hmsffi

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Native values cross the C ABI as CBOR value trees (docs/types.md): maps, slices, integers,
// floats, strings, []byte, time.Time (tag 0, nanoseconds kept) and time.Duration (tag 1002).

const tagDuration = 1002

// LongDuration is a protobuf Duration beyond time.Duration's range (about ±292 years); replies
// carry one only then, and requests may use one anywhere.
type LongDuration struct {
	Seconds int64
	Nanos   int32
}

// maxDurationSeconds is the largest whole-second count time.Duration holds with room for nanos.
const maxDurationSeconds = math.MaxInt64/int64(time.Second) - 1

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.EncOptions{Time: cbor.TimeRFC3339Nano, TimeTag: cbor.EncTagRequired}.EncMode()
	if err != nil {
		panic(err)
	}
	decMode, err = cbor.DecOptions{TimeTag: cbor.DecTagOptional, MaxNestedLevels: 256}.DecMode()
	if err != nil {
		panic(err)
	}
}

// toCBOR rewrites what CBOR cannot say on its own (durations), sends values of a converter's
// type through it, and walks containers.
func toCBOR(v any, cs converters) (any, error) {
	if len(cs) > 0 {
		if m, ok, err := cs.sent(v); ok || err != nil {
			if err != nil {
				return nil, err
			}
			return toCBOR(m, cs)
		}
	}
	switch x := v.(type) {
	case time.Duration:
		secs, nanos := int64(x/time.Second), int64(x%time.Second)
		return cbor.Tag{Number: tagDuration, Content: map[int]int64{1: secs, -9: nanos}}, nil
	case time.Time:
		// Written by hand: the encoder would turn the zero time (0001-01-01, protobuf's
		// smallest Timestamp) into null.
		return cbor.Tag{Number: 0, Content: x.UTC().Format(time.RFC3339Nano)}, nil
	case LongDuration:
		return cbor.Tag{Number: tagDuration, Content: map[int]int64{1: x.Seconds, -9: int64(x.Nanos)}}, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := toCBOR(e, cs)
			if err != nil {
				return nil, at(err, map[string]any{"key": k})
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := toCBOR(e, cs)
			if err != nil {
				return nil, at(err, map[string]any{"index": i})
			}
			out[i] = c
		}
		return out, nil
	case map[any]any:
		out := make(map[any]any, len(x))
		for k, e := range x {
			c, err := toCBOR(e, cs)
			if err != nil {
				return nil, at(err, map[string]any{"key": k})
			}
			out[k] = c
		}
		return out, nil
	}
	return v, nil
}

// encodeValue is v as CBOR, values of custom types through cs; a converter's failure is the
// core's error (Internal for a handler's reply).
func encodeValue(v any, cs converters, reply bool) ([]byte, error) {
	c, err := toCBOR(v, cs)
	if err != nil {
		return nil, coreError(err, reply)
	}
	b, err := encMode.Marshal(c)
	if err != nil {
		return nil, NewError(InvalidArgument, fmt.Sprintf("cannot encode %T: %v", v, err))
	}
	return b, nil
}

// fromCBOR turns decoded CBOR into idiomatic Go: map[string]any for messages, int64 where it
// fits, time.Duration for durations, converted values through cs.
func fromCBOR(v any, cs converters) (any, error) {
	switch x := v.(type) {
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
		return x, nil
	case map[any]any:
		allText := true
		for k := range x {
			if _, ok := k.(string); !ok {
				allText = false
				break
			}
		}
		if allText {
			out := make(map[string]any, len(x))
			for k, e := range x {
				c, err := fromCBOR(e, cs)
				if err != nil {
					return nil, at(err, map[string]any{"key": k})
				}
				out[k.(string)] = c
			}
			return out, nil
		}
		out := make(map[any]any, len(x))
		for k, e := range x {
			key, _ := fromCBOR(k, nil)
			c, err := fromCBOR(e, cs)
			if err != nil {
				return nil, at(err, map[string]any{"key": key})
			}
			out[key] = c
		}
		return out, nil
	case []any:
		for i, e := range x {
			c, err := fromCBOR(e, cs)
			if err != nil {
				return nil, at(err, map[string]any{"index": i})
			}
			x[i] = c
		}
		return x, nil
	case cbor.Tag:
		if x.Number == tagDuration {
			if m, ok := x.Content.(map[any]any); ok {
				var secs, nanos int64
				for k, e := range m {
					n, _ := fromCBOR(e, nil)
					k, _ := fromCBOR(k, nil)
					switch k {
					case int64(1):
						secs, _ = n.(int64)
					case int64(-9):
						nanos, _ = n.(int64)
					}
				}
				if secs > maxDurationSeconds || secs < -maxDurationSeconds {
					return LongDuration{Seconds: secs, Nanos: int32(nanos)}, nil
				}
				return time.Duration(secs)*time.Second + time.Duration(nanos), nil
			}
		}
		content, err := fromCBOR(x.Content, cs)
		if err != nil {
			return nil, err
		}
		if r, ok, err := cs.received(x.Number, content); ok || err != nil {
			return r, err
		}
		return content, nil
	}
	return v, nil
}

func decodeValue(b []byte, cs converters) (any, error) {
	var v any
	if err := decMode.Unmarshal(b, &v); err != nil {
		return nil, NewError(Internal, "undecodable value from hms-ffi: "+err.Error())
	}
	out, err := fromCBOR(v, cs)
	if err != nil {
		return nil, coreError(err, false)
	}
	return out, nil
}

// decodeInto stores a decoded value in *map[string]any or *any.
func decodeInto(b []byte, out any, cs converters) error {
	v, err := decodeValue(b, cs)
	if err != nil {
		return err
	}
	switch p := out.(type) {
	case *map[string]any:
		m, ok := v.(map[string]any)
		if !ok {
			return NewError(Internal, fmt.Sprintf("reply is %T, not a message", v))
		}
		*p = m
	case *any:
		*p = v
	default:
		return NewError(InvalidArgument, fmt.Sprintf("cannot store a reply in %s: use *map[string]any or a proto.Message", reflect.TypeOf(out)))
	}
	return nil
}
