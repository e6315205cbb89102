package hmsffi

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// Code is a gRPC-canonical status code.
type Code int32

// The codes, with gRPC's numbers.
const (
	OK                 Code = 0
	Canceled           Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

var codeNames = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// String is the canonical name: "NOT_FOUND".
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("CODE(%d)", int32(c))
}

// CodeFromName parses "NOT_FOUND" (as the conformance vectors write codes).
func CodeFromName(name string) (Code, bool) {
	for i, n := range codeNames {
		if n == name {
			return Code(i), true
		}
	}
	return Unknown, false
}

// FieldViolation is one invalid field, with its path ("items[2].price").
type FieldViolation struct {
	Field       string
	Description string
}

// Origin says where an error was raised.
type Origin struct {
	Language, Service, Method string
}

// Error is every error hms-ffi returns: use errors.As(err, &e) or CodeOf(err).
type Error struct {
	code    Code
	message string
	// FieldViolations lists invalid request fields (google.rpc.BadRequest).
	FieldViolations []FieldViolation
	// Reason is the machine-readable reason (google.rpc.ErrorInfo), if any, with its Domain
	// ("hms-ffi" when empty) and its metadata.
	Reason       string
	Domain       string
	InfoMetadata map[string]string
	// Stack and Detail come from google.rpc.DebugInfo: a remote exception's stack and text.
	Stack  []string
	Detail string
	// Origin is where the error was raised, if known.
	Origin *Origin
	// Headers and Trailers are the response metadata the handler set before it failed (a
	// client's error only).
	Headers, Trailers MD
	// Status is the serialized google.rpc.Status with every detail. A handler that returns an
	// error it got from a call sends this Status on unchanged; set it to nil to send the fields.
	Status []byte
}

// NewError makes an error a handler can return to send that code to the caller.
func NewError(code Code, message string, violations ...FieldViolation) *Error {
	return &Error{code: code, message: message, FieldViolations: violations}
}

// Code is the gRPC status code.
func (e *Error) Code() Code { return e.code }

// Message is the text without the code.
func (e *Error) Message() string { return e.message }

func (e *Error) Error() string { return e.code.String() + ": " + e.message }

// Is makes errors.Is(err, hmsffi.NewError(hmsffi.NotFound, "")) match on the code.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.code == e.code && t.message == ""
}

// CodeOf returns the code of an hms-ffi error, Unknown for other errors and OK for nil.
func CodeOf(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.code
	}
	return Unknown
}

func newError(code Code, message string, status []byte) *Error {
	e := &Error{code: code, message: message, Status: status}
	parseStatus(e, status)
	return e
}

// fields walks a protobuf message, calling f for each length-delimited or varint field.
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, n uint64)) {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return
		}
		b = b[l:]
		switch typ {
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			f(num, typ, v, 0)
			b = b[m:]
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return
			}
			f(num, typ, nil, v)
			b = b[m:]
		default:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return
			}
			b = b[m:]
		}
	}
}

func parseStatus(e *Error, status []byte) {
	fields(status, func(num protowire.Number, _ protowire.Type, v []byte, _ uint64) {
		if num != 3 {
			return
		}
		var url string
		var value []byte
		fields(v, func(n protowire.Number, _ protowire.Type, x []byte, _ uint64) {
			switch n {
			case 1:
				url = string(x)
			case 2:
				value = x
			}
		})
		switch url {
		case "type.googleapis.com/google.rpc.BadRequest":
			fields(value, func(n protowire.Number, _ protowire.Type, fv []byte, _ uint64) {
				var viol FieldViolation
				fields(fv, func(n protowire.Number, _ protowire.Type, x []byte, _ uint64) {
					if n == 1 {
						viol.Field = string(x)
					} else if n == 2 {
						viol.Description = string(x)
					}
				})
				e.FieldViolations = append(e.FieldViolations, viol)
			})
		case "type.googleapis.com/google.rpc.ErrorInfo":
			fields(value, func(n protowire.Number, _ protowire.Type, x []byte, _ uint64) {
				switch n {
				case 1:
					e.Reason = string(x)
				case 2:
					e.Domain = string(x)
				case 3:
					var k, v string
					fields(x, func(n protowire.Number, _ protowire.Type, y []byte, _ uint64) {
						if n == 1 {
							k = string(y)
						} else if n == 2 {
							v = string(y)
						}
					})
					if e.InfoMetadata == nil {
						e.InfoMetadata = map[string]string{}
					}
					e.InfoMetadata[k] = v
				}
			})
		case "type.googleapis.com/google.rpc.DebugInfo":
			fields(value, func(n protowire.Number, _ protowire.Type, x []byte, _ uint64) {
				if n == 1 {
					e.Stack = append(e.Stack, string(x))
				} else if n == 2 {
					e.Detail = string(x)
				}
			})
		case "type.googleapis.com/hms.ffi.v1.Origin":
			o := &Origin{}
			fields(value, func(n protowire.Number, _ protowire.Type, x []byte, _ uint64) {
				switch n {
				case 1:
					o.Language = string(x)
				case 2:
					o.Service = string(x)
				case 3:
					o.Method = string(x)
				}
			})
			e.Origin = o
		}
	})
}

// statusBytes encodes an error as google.rpc.Status for the C ABI. An error a call returned,
// handed back by a handler as is, passes on the Status it came with: every detail and its origin.
func statusBytes(e *Error) []byte {
	if len(e.Status) > 0 {
		return e.Status
	}
	var out []byte
	out = protowire.AppendTag(out, 1, protowire.VarintType)
	out = protowire.AppendVarint(out, uint64(e.code))
	out = protowire.AppendTag(out, 2, protowire.BytesType)
	out = protowire.AppendString(out, e.message)
	any := func(url string, value []byte) {
		var a []byte
		a = protowire.AppendTag(a, 1, protowire.BytesType)
		a = protowire.AppendString(a, url)
		a = protowire.AppendTag(a, 2, protowire.BytesType)
		a = protowire.AppendBytes(a, value)
		out = protowire.AppendTag(out, 3, protowire.BytesType)
		out = protowire.AppendBytes(out, a)
	}
	if len(e.FieldViolations) > 0 {
		var br []byte
		for _, v := range e.FieldViolations {
			var fv []byte
			fv = protowire.AppendTag(fv, 1, protowire.BytesType)
			fv = protowire.AppendString(fv, v.Field)
			fv = protowire.AppendTag(fv, 2, protowire.BytesType)
			fv = protowire.AppendString(fv, v.Description)
			br = protowire.AppendTag(br, 1, protowire.BytesType)
			br = protowire.AppendBytes(br, fv)
		}
		any("type.googleapis.com/google.rpc.BadRequest", br)
	}
	if e.Reason != "" {
		var info []byte
		info = protowire.AppendTag(info, 1, protowire.BytesType)
		info = protowire.AppendString(info, e.Reason)
		// An empty domain is the core's to fill in ("hms-ffi").
		info = protowire.AppendTag(info, 2, protowire.BytesType)
		info = protowire.AppendString(info, e.Domain)
		for k, v := range e.InfoMetadata {
			var entry []byte
			entry = protowire.AppendTag(entry, 1, protowire.BytesType)
			entry = protowire.AppendString(entry, k)
			entry = protowire.AppendTag(entry, 2, protowire.BytesType)
			entry = protowire.AppendString(entry, v)
			info = protowire.AppendTag(info, 3, protowire.BytesType)
			info = protowire.AppendBytes(info, entry)
		}
		any("type.googleapis.com/google.rpc.ErrorInfo", info)
	}
	if len(e.Stack) > 0 || e.Detail != "" {
		var dbg []byte
		for _, s := range e.Stack {
			dbg = protowire.AppendTag(dbg, 1, protowire.BytesType)
			dbg = protowire.AppendString(dbg, s)
		}
		dbg = protowire.AppendTag(dbg, 2, protowire.BytesType)
		dbg = protowire.AppendString(dbg, e.Detail)
		any("type.googleapis.com/google.rpc.DebugInfo", dbg)
	}
	return out
}
