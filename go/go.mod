module github.com/hms-ffi/hms-ffi/go

go 1.24

require (
	github.com/fxamacker/cbor/v2 v2.10.0
	google.golang.org/protobuf v1.36.12
)

require github.com/x448/float16 v0.8.4 // indirect
