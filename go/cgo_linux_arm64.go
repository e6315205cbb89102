package hmsffi

// The prebuilt static library of hms-ffi's C ABI for linux/arm64; the release
// workflow builds it (.github/workflows/release.yml), `make go-lib` in a checkout.

// #cgo LDFLAGS: ${SRCDIR}/lib/linux_arm64/libhms_ffi.a -lpthread -ldl -lm
import "C"
