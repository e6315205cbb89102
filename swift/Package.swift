// swift-tools-version:5.9
// The Swift package of hms-ffi: the UniFFI-generated module HmsFfi over the C module HmsFfiFFI
// (both produced by scripts/uniffi-gen.sh) and the native library built by
// `cargo build -p hms-ffi-uniffi` (pass its folder to the linker, see .github/workflows/swift.yml).
import PackageDescription

let package = Package(
    name: "HmsFfi",
    products: [.library(name: "HmsFfi", targets: ["HmsFfi"])],
    targets: [
        .systemLibrary(name: "HmsFfiFFI", path: "Sources/HmsFfiFFI"),
        .target(
            name: "HmsFfi",
            dependencies: ["HmsFfiFFI"],
            path: "Sources/HmsFfi",
            linkerSettings: [.linkedLibrary("hms_ffi_uniffi")]
        ),
        .testTarget(name: "HmsFfiTests", dependencies: ["HmsFfi"], path: "Tests/HmsFfiTests"),
    ]
)
