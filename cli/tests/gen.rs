//! `hms-ffi gen` and its plugin mode end to end: the CLI writes the committed `gen/` files; the
//! same binary as `protoc-gen-hms` answers a `CodeGeneratorRequest` with the same files; buf
//! (1.75 from npm, `scripts/install-buf.sh`, or `HMS_FFI_BUF`) running
//! `examples/typed/buf.gen.yaml` writes them too; bad input fails with a clear message. The
//! strict checkers of each language run in `scripts/check-typed.sh` (`make test-gen`). Every
//! process has a timeout.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{bin, output_within, text};
use prost::Message;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use prost_types::FileDescriptorSet;

const LANGS: [&str; 7] = [
    "python",
    "typescript",
    "go",
    "ruby",
    "php",
    "kotlin",
    "rust",
];
const TIMEOUT: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file under `dir`, by its path relative to `dir`.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

/// The committed files of `lang` that come from `greeter.proto` (`demo.v1`).
fn committed_greeter(lang: &str) -> BTreeMap<String, String> {
    files(&root().join("gen").join(lang))
        .into_iter()
        .filter(|(name, _)| name.contains("demo") || name.contains("Demo"))
        .collect()
}

#[test]
fn gen_writes_the_committed_files_of_every_language() {
    let out = tempfile::tempdir().unwrap();
    for lang in LANGS {
        let mut cmd = bin();
        cmd.current_dir(root())
            .args(["gen", "--lang", lang, "--out"]);
        cmd.arg(out.path().join(lang));
        cmd.args([
            "examples/protos/greeter.proto",
            "tests/conformance/conformance.proto",
        ]);
        let o = output_within(cmd, TIMEOUT);
        assert!(o.status.success(), "{lang}: {}", text(&o.stderr));
        let listed = text(&o.stdout).lines().count();
        let mut want = files(&root().join("gen").join(lang));
        want.retain(|name, _| name != "go.mod" && name != "go.sum");
        let got = files(&out.path().join(lang));
        assert_eq!(listed, got.len(), "{lang}: every written file is listed");
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "{lang}: run scripts/gen-typed.sh"
        );
        for (name, content) in &got {
            assert!(
                content == &want[name],
                "gen/{lang}/{name} is stale: run scripts/gen-typed.sh"
            );
        }
    }
}

#[test]
fn a_missing_file_or_language_fails_with_a_clear_message() {
    let out = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.args(["gen", "--lang", "go", "--out"])
        .arg(out.path())
        .arg("nowhere.proto");
    let o = output_within(cmd, TIMEOUT);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("nowhere.proto not found"),
        "{}",
        text(&o.stderr)
    );
    let mut cmd = bin();
    cmd.args(["gen", "--lang", "cobol", "--out"])
        .arg(out.path())
        .arg(common::proto());
    let o = output_within(cmd, TIMEOUT);
    assert_eq!(o.status.code(), Some(2), "clap rejects the language");
    assert!(
        text(&o.stderr).contains("possible values: python, typescript, go"),
        "{}",
        text(&o.stderr)
    );
}

/// Runs the binary as a plugin under `argv0_dir/protoc-gen-hms` (a link, as protoc finds it).
fn plugin(request: &CodeGeneratorRequest, argv0_dir: &Path) -> CodeGeneratorResponse {
    let link = argv0_dir.join("protoc-gen-hms");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_hms-ffi"), &link).unwrap();
    let mut cmd = Command::new(&link);
    cmd.stdin(Stdio::piped());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&request.encode_to_vec())
        .unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("protoc-gen-hms did not answer within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    CodeGeneratorResponse::decode(o.stdout.as_slice()).unwrap()
}

#[test]
fn protoc_gen_hms_answers_a_request_with_the_files_gen_writes() {
    // The core's loader keeps the comments (source info) as protoc and buf send them.
    let greeter = root().join("examples/protos/greeter.proto");
    let schema = hms_ffi_core::Schema::load(&[greeter], &[] as &[&str]).unwrap();
    let set = FileDescriptorSet::decode(schema.to_descriptor_set().as_slice()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let request = CodeGeneratorRequest {
        file_to_generate: vec!["greeter.proto".into()],
        parameter: Some("lang=typescript".into()),
        proto_file: set.file,
        ..Default::default()
    };
    let response = plugin(&request, tmp.path());
    assert_eq!(response.error, None);
    let got: BTreeMap<String, String> = response
        .file
        .into_iter()
        .map(|f| (f.name.unwrap(), f.content.unwrap()))
        .collect();
    assert_eq!(got, committed_greeter("typescript"));
}

#[test]
fn buf_generate_with_the_example_template_writes_what_gen_writes() {
    let buf = std::env::var_os("HMS_FFI_BUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/tools/buf/node_modules/.bin/buf"));
    assert!(buf.exists(), "buf is not installed at {}: run scripts/install-buf.sh (make test-cli does) or set HMS_FFI_BUF", buf.display());
    let work = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_hms-ffi")).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let mut cmd = Command::new(&buf);
    cmd.arg("generate")
        .arg(root().join("examples/protos"))
        .arg("--template")
        .arg(root().join("examples/typed/buf.gen.yaml"))
        .current_dir(work.path())
        .env("PATH", path)
        .env("BUF_CACHE_DIR", work.path().join(".cache"));
    let o = output_within(cmd, TIMEOUT);
    assert!(
        o.status.success(),
        "buf generate failed: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    for lang in LANGS {
        let got = files(&work.path().join("gen/buf").join(lang));
        assert!(!got.is_empty(), "buf wrote nothing for {lang}");
        assert_eq!(
            got,
            committed_greeter(lang),
            "{lang}: buf and hms-ffi gen disagree"
        );
    }
}

/// A schema with every built-in converter's target, and a format no converter has.
const SHOP: &str = r#"syntax = "proto3";
package shop.v1;
import "google/type/decimal.proto";
import "google/type/money.proto";
import "google/type/date.proto";
import "hms/ffi/v1/options.proto";
message Order {
  string id = 1 [(hms.ffi.v1.format) = "uuid"];
  google.type.Decimal price = 2;
  google.type.Money total = 3;
  google.type.Date due = 4;
  map<string, google.type.Decimal> rates = 5;
  repeated string refs = 6 [(hms.ffi.v1.format) = "uuid"];
  string note = 7 [(hms.ffi.v1.format) = "no-such-format"];
}
service Shop { rpc Echo(Order) returns (Order); }
"#;

/// `hms-ffi gen --lang LANG` of [`SHOP`], the file `name` it writes.
fn shop_generated(lang: &str, name: &str) -> String {
    common::generated(SHOP, "shop.proto", lang, name)
}

#[test]
fn python_types_use_the_native_types_of_the_builtin_converters() {
    let py = shop_generated("python", "shop_v1_hms.py");
    for line in [
        "import decimal",
        "import uuid",
        "    id: Optional[uuid.UUID]",
        "    price: Optional[decimal.Decimal]",
        "    total: Optional[hms_ffi.Money]",
        "    due: Optional[datetime.date]",
        "    rates: Dict[str, decimal.Decimal]",
        "    refs: List[uuid.UUID]",
        "    note: str",
        "    id: Optional[Union[uuid.UUID, str]]",
        "    price: Optional[Union[decimal.Decimal, google_type_DecimalArgs]]",
        "    refs: Sequence[Union[uuid.UUID, str]]",
    ] {
        assert!(py.lines().any(|l| l == line), "no {line:?} in\n{py}");
    }
    let greeter = committed_greeter("python");
    assert!(greeter.values().all(|t| !t.contains("import decimal")));
}

#[test]
fn kotlin_types_use_the_native_types_of_the_builtin_converters() {
    let kt = shop_generated("kotlin", "shop/v1/ShopV1Hms.kt");
    for line in [
        "    val id: java.util.UUID? = null,",
        "    val price: java.math.BigDecimal? = null,",
        "    val total: io.github.hmsffi.Money? = null,",
        "    val due: java.time.LocalDate? = null,",
        "    val rates: Map<String, java.math.BigDecimal> = emptyMap(),",
        "    val refs: List<java.util.UUID> = emptyList(),",
        "    val note: String = \"\",",
        "            id = (v[\"id\"] as? java.util.UUID),",
        "            price = (v[\"price\"] as? java.math.BigDecimal),",
    ] {
        assert!(kt.lines().any(|l| l == line), "no {line:?} in\n{kt}");
    }
    let greeter = committed_greeter("kotlin");
    assert!(greeter
        .values()
        .all(|t| !t.contains("java.math.BigDecimal")));
}

#[test]
fn kotlin_types_every_stream_kind_over_the_bindings_streams_and_flows() {
    let kt = files(&root().join("gen/kotlin"))
        .remove("hms/conformance/v1/HmsConformanceV1Hms.kt")
        .unwrap();
    for line in [
        "    public fun serverStream(request: AllTypes): TypedStream<AllTypes, AllTypes> =",
        "    public fun serverStreamFlow(request: AllTypes): Flow<AllTypes> =",
        "    public fun clientStream(requests: Iterable<AllTypes>): AllTypes =",
        "    public suspend fun clientStreamAsync(requests: Flow<AllTypes>): AllTypes =",
        "    public fun bidi(): TypedStream<AllTypes, AllTypes> =",
        "    public fun bidiFlow(requests: Flow<AllTypes>): Flow<AllTypes> =",
        "    public fun serverStream(request: AllTypes, ctx: CallContext): Flow<AllTypes> =",
        "    public suspend fun clientStream(requests: Flow<AllTypes>, ctx: CallContext): AllTypes =",
        "    public fun bidi(requests: Flow<AllTypes>, ctx: CallContext): Flow<AllTypes> =",
        "        throw hmsError(Code.UNIMPLEMENTED, \"hms.conformance.v1.Conformance/Bidi is not implemented\")",
    ] {
        assert!(kt.lines().any(|l| l == line), "no {line:?} in\n{kt}");
    }
    for kind in ["serverStreamFlow", "clientStreamFlow", "bidiStreamFlow"] {
        assert!(
            kt.contains(&format!("import io.github.hmsffi.{kind}\n")),
            "{kt}"
        );
        assert!(
            kt.contains(&format!(
                "            server.{kind}(\"hms.conformance.v1.Conformance/"
            )),
            "{kt}"
        );
    }
    assert!(!kt.contains("no streams"), "{kt}");
    let greeter = committed_greeter("kotlin")
        .into_values()
        .collect::<String>();
    assert!(
        !greeter.contains("import io.github.hmsffi.bidiStreamFlow"),
        "only what the package uses is imported:\n{greeter}"
    );
}

#[test]
fn php_types_use_the_native_types_of_the_builtin_converters() {
    let php = shop_generated("php", "ShopV1Hms.php");
    for line in [
        "        public ?string $price = null,",
        "        public ?\\HmsFfi\\Money $total = null,",
        "        public ?\\DateTimeInterface $due = null,",
        "        /** @var array<string, string> */",
        "        public string $id = '',",
        "            due: $a['due'] ?? null,",
        "            'due' => $this->due,",
    ] {
        assert!(php.lines().any(|l| l == line), "no {line:?} in\n{php}");
    }
}

#[test]
fn ruby_types_use_the_native_types_of_the_builtin_converters() {
    let rb = shop_generated("ruby", "shop_v1_hms.rb");
    assert!(rb.contains("price: h.fetch(:price, nil)"), "{rb}");
    assert!(rb.contains("due: @due,"), "{rb}");
    assert!(
        rb.contains("total: h[:total]&.then { |v| Google_type_Money.from_h(v) }"),
        "{rb}"
    );
    let rbs = shop_generated("ruby", "shop_v1_hms.rbs");
    for line in [
        "attr_accessor price: BigDecimal?",
        "attr_accessor rates: Hash[String, BigDecimal]",
    ] {
        assert!(
            rbs.lines().any(|l| l.trim() == line),
            "no {line:?} in\n{rbs}"
        );
    }
}
