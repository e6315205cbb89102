package hmsffi

// The prebuilt static library of hms-ffi's C ABI for darwin/arm64; the release
// workflow builds it (.github/workflows/release.yml), `make go-lib` in a checkout.

// #cgo LDFLAGS: ${SRCDIR}/lib/darwin_arm64/libhms_ffi.a -lm -framework CoreFoundation -framework Security
import "C"
