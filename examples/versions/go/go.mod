module github.com/hms-ffi/hms-ffi/examples/versions/go

go 1.24

require github.com/hms-ffi/hms-ffi/go v0.0.0

require (
	github.com/fxamacker/cbor/v2 v2.10.0 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/hms-ffi/hms-ffi/go => ../../../go
