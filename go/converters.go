package hmsffi

/*
#include <stdlib.h>
#include "hms_ffi.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"reflect"
	"unsafe"
)

// Converter maps a protobuf message type (Message, its full name such as
// "google.type.Decimal") or the string fields declared with a format (Format, such as "uuid":
// [(hms.ffi.v1.format) = "uuid"]) to a Go type of your own, on requests and replies of
// map[string]any calls (docs/converters.md). The core decides where a received value
// converts: FromMessage gets the message as map[string]any (the text, for a format). A sent
// value of Type goes out through ToMessage. An error from either is InvalidArgument with the
// value's path in the field violations (Internal for a handler's reply).
type Converter struct {
	Message     string
	Format      string
	Type        reflect.Type
	ToMessage   func(v any) (any, error)
	FromMessage func(m any) (any, error)
}

// WithConverters converts the values of custom domain types on this client's requests and
// replies (docs/converters.md).
func WithConverters(cs ...Converter) ConnectOption {
	return func(o *connectOptions) { o.converters = append(o.converters, cs...) }
}

// WithServerConverters converts the values of custom domain types on this server's requests
// and replies (docs/converters.md).
func WithServerConverters(cs ...Converter) ServerOption {
	return func(o *serverOptions) { o.converters = append(o.converters, cs...) }
}

// convertedTag is C.HMS_CONVERTED_TAG: converter i's values come tagged convertedTag + i.
const convertedTag = uint64(C.HMS_CONVERTED_TAG)

type converters []Converter

func (c *Converter) target() string {
	if c.Message != "" {
		return c.Message
	}
	return "format " + c.Format
}

// cJSON is the targets as the C ABI takes them (NULL for none), or InvalidArgument.
func (cs converters) cJSON() (*C.char, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	targets := make([]map[string]string, len(cs))
	for i, c := range cs {
		if (c.Message == "") == (c.Format == "") || c.FromMessage == nil || (c.Type != nil && c.ToMessage == nil) {
			return nil, NewError(InvalidArgument, "a Converter names one Message or one Format, a FromMessage, and a ToMessage with its Type")
		}
		if c.Message != "" {
			targets[i] = map[string]string{"message": c.Message}
		} else {
			targets[i] = map[string]string{"format": c.Format}
		}
	}
	b, _ := json.Marshal(targets)
	return C.CString(string(b)), nil
}

// convFailed is a converter's error on its way out of a walk, gathering the path.
type convFailed struct {
	outward []map[string]any
	target  string
	why     string
}

func (e *convFailed) Error() string { return "converter for " + e.target + " failed: " + e.why }

// at adds the container the error passed (an index or a key) to its path.
func at(err error, seg map[string]any) error {
	var cf *convFailed
	if errors.As(err, &cf) {
		cf.outward = append(cf.outward, seg)
	}
	return err
}

// coreError is the core's error for a converter's failure (the path built by the core).
func coreError(err error, reply bool) error {
	var cf *convFailed
	if !errors.As(err, &cf) {
		return err
	}
	if cf.outward == nil {
		cf.outward = []map[string]any{}
	}
	b, _ := json.Marshal(cf.outward)
	outward, target, why := C.CString(string(b)), C.CString(cf.target), C.CString(cf.why)
	defer C.free(unsafe.Pointer(outward))
	defer C.free(unsafe.Pointer(target))
	defer C.free(unsafe.Pointer(why))
	var e *C.HmsError
	C.hms_converter_error(outward, target, why, C.bool(reply), &e)
	return takeError(e)
}

// sent is v through the converter of its type, if any.
func (cs converters) sent(v any) (any, bool, error) {
	t := reflect.TypeOf(v)
	for i := range cs {
		if cs[i].Type != nil && cs[i].Type == t {
			m, err := cs[i].ToMessage(v)
			if err != nil {
				return nil, true, &convFailed{target: cs[i].target(), why: err.Error()}
			}
			return m, true, nil
		}
	}
	return v, false, nil
}

// received is the content of a tag converter tag n tagged, through that converter.
func (cs converters) received(n uint64, content any) (any, bool, error) {
	if n < convertedTag || n-convertedTag >= uint64(len(cs)) {
		return nil, false, nil
	}
	c := &cs[n-convertedTag]
	v, err := c.FromMessage(content)
	if err != nil {
		return nil, true, &convFailed{target: c.target(), why: err.Error()}
	}
	return v, true, nil
}
