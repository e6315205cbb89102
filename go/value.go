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

// toCBOR rewrites what CBOR cannot say on its own (durations) and walks containers.
func toCBOR(v any) any {
	switch x := v.(type) {
	case time.Duration:
		secs, nanos := int64(x/time.Second), int64(x%time.Second)
		return cbor.Tag{Number: tagDuration, Content: map[int]int64{1: secs, -9: nanos}}
	case time.Time:
		// Written by hand: the encoder would turn the zero time (0001-01-01, protobuf's
		// smallest Timestamp) into null.
		return cbor.Tag{Number: 0, Content: x.UTC().Format(time.RFC3339Nano)}
	case LongDuration:
		return cbor.Tag{Number: tagDuration, Content: map[int]int64{1: x.Seconds, -9: int64(x.Nanos)}}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = toCBOR(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toCBOR(e)
		}
		return out
	case map[any]any:
		out := make(map[any]any, len(x))
		for k, e := range x {
			out[k] = toCBOR(e)
		}
		return out
	}
	return v
}

func encodeValue(v any) ([]byte, error) {
	b, err := encMode.Marshal(toCBOR(v))
	if err != nil {
		return nil, NewError(InvalidArgument, fmt.Sprintf("cannot encode %T: %v", v, err))
	}
	return b, nil
}

// fromCBOR turns decoded CBOR into idiomatic Go: map[string]any for messages, int64 where it
// fits, time.Duration for durations.
func fromCBOR(v any) any {
	switch x := v.(type) {
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return x
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
				out[k.(string)] = fromCBOR(e)
			}
			return out
		}
		out := make(map[any]any, len(x))
		for k, e := range x {
			out[fromCBOR(k)] = fromCBOR(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = fromCBOR(e)
		}
		return x
	case cbor.Tag:
		if x.Number == tagDuration {
			if m, ok := x.Content.(map[any]any); ok {
				var secs, nanos int64
				for k, e := range m {
					n, _ := fromCBOR(e).(int64)
					switch fromCBOR(k) {
					case int64(1):
						secs = n
					case int64(-9):
						nanos = n
					}
				}
				if secs > maxDurationSeconds || secs < -maxDurationSeconds {
					return LongDuration{Seconds: secs, Nanos: int32(nanos)}
				}
				return time.Duration(secs)*time.Second + time.Duration(nanos)
			}
		}
		return fromCBOR(x.Content)
	}
	return v
}

func decodeValue(b []byte) (any, error) {
	var v any
	if err := decMode.Unmarshal(b, &v); err != nil {
		return nil, NewError(Internal, "undecodable value from hms-ffi: "+err.Error())
	}
	return fromCBOR(v), nil
}

// decodeInto stores a decoded value in *map[string]any or *any.
func decodeInto(b []byte, out any) error {
	v, err := decodeValue(b)
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
