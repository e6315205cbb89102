//! Schemas: `.proto` files compiled at runtime (no `protoc`), or a serialized `FileDescriptorSet`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::Diagnostic;
use prost_reflect::{DescriptorPool, MessageDescriptor, MethodDescriptor};
use protox::file::{
    ChainFileResolver, File, FileResolver, GoogleFileResolver, IncludeFileResolver,
};

use crate::error::{Code, Error, ErrorInfo, Result};

/// Whether each side of a method sends one message or a stream of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamingKind {
    /// One request, one response.
    Unary,
    /// One request, a stream of responses.
    ServerStreaming,
    /// A stream of requests, one response.
    ClientStreaming,
    /// Streams both ways.
    Bidi,
}

impl StreamingKind {
    /// `unary`, `server_streaming`, `client_streaming` or `bidi_streaming`.
    pub fn name(self) -> &'static str {
        match self {
            StreamingKind::Unary => "unary",
            StreamingKind::ServerStreaming => "server_streaming",
            StreamingKind::ClientStreaming => "client_streaming",
            StreamingKind::Bidi => "bidi_streaming",
        }
    }
}

/// One method of a service, named `package.Service/Method`.
#[derive(Debug, Clone)]
pub struct MethodInfo {
    /// `package.Service/Method`.
    pub name: String,
    /// The protobuf descriptor.
    pub descriptor: MethodDescriptor,
}

/// A method as bindings list it: `(name, input type, output type, streaming kind)`.
pub type MethodRow = (String, String, String, &'static str);

impl MethodInfo {
    /// The method as `(name, input type, output type, streaming kind)`, as bindings list it.
    pub fn row(&self) -> MethodRow {
        (
            self.name.clone(),
            self.input().full_name().to_string(),
            self.output().full_name().to_string(),
            self.kind().name(),
        )
    }
    /// The fully qualified service name, `package.Service`.
    pub fn service(&self) -> &str {
        self.descriptor.parent_service().full_name()
    }
    /// The bare method name, `Method`.
    pub fn method(&self) -> &str {
        self.descriptor.name()
    }
    /// The request message type.
    pub fn input(&self) -> MessageDescriptor {
        self.descriptor.input()
    }
    /// The response message type.
    pub fn output(&self) -> MessageDescriptor {
        self.descriptor.output()
    }
    /// The streaming kind.
    pub fn kind(&self) -> StreamingKind {
        match (
            self.descriptor.is_client_streaming(),
            self.descriptor.is_server_streaming(),
        ) {
            (false, false) => StreamingKind::Unary,
            (false, true) => StreamingKind::ServerStreaming,
            (true, false) => StreamingKind::ClientStreaming,
            (true, true) => StreamingKind::Bidi,
        }
    }
}

/// A set of compiled protobuf files and the methods of their services. Cheap to clone.
#[derive(Clone)]
pub struct Schema {
    inner: Arc<SchemaInner>,
}

struct SchemaInner {
    pool: DescriptorPool,
    methods: crate::metrics::FastMap<String, MethodInfo>,
    topics: Vec<crate::topic::Declared>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("methods", &self.method_names())
            .finish()
    }
}

/// Resolves imports among files given as text (name -> text).
struct MemoryResolver(HashMap<String, String>);

/// A compiler over files given as `(name, text)`, which may import each other and the
/// well-known types.
pub(crate) fn memory_compiler(sources: &[(&str, &str)]) -> protox::Compiler {
    let map = sources
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let mut resolver = ChainFileResolver::new();
    resolver.add(MemoryResolver(map));
    resolver.add(BundledResolver);
    resolver.add(GoogleFileResolver::new());
    protox::Compiler::with_file_resolver(resolver)
}

/// The files every schema may import besides `google/protobuf/*.proto`: the common types that
/// have built-in converters (`google/type/{decimal,money,date}.proto`) and hms-ffi's own field
/// options (`hms/ffi/v1/options.proto`, for a string field's declared format).
pub const BUNDLED: [(&str, &str); 4] = [
    (
        "google/type/decimal.proto",
        include_str!("../proto/google/type/decimal.proto"),
    ),
    (
        "google/type/money.proto",
        include_str!("../proto/google/type/money.proto"),
    ),
    (
        "google/type/date.proto",
        include_str!("../proto/google/type/date.proto"),
    ),
    (
        "hms/ffi/v1/options.proto",
        include_str!("../proto/hms/ffi/v1/options.proto"),
    ),
];

/// Resolves the [`BUNDLED`] files, after the user's own (a copy of googleapis wins).
struct BundledResolver;

impl FileResolver for BundledResolver {
    fn open_file(&self, name: &str) -> std::result::Result<File, protox::Error> {
        match BUNDLED.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => File::from_source(n, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

impl FileResolver for MemoryResolver {
    fn open_file(&self, name: &str) -> std::result::Result<File, protox::Error> {
        match self.0.get(name) {
            Some(text) => File::from_source(name, text),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

impl Schema {
    /// Compiles `.proto` files. Imports are looked up in `includes`, then in each file's own
    /// folder, then among the [`BUNDLED`] files and the well-known types
    /// (`google/protobuf/*.proto`).
    pub fn load(files: &[impl AsRef<Path>], includes: &[impl AsRef<Path>]) -> Result<Schema> {
        let mut dirs: Vec<PathBuf> = includes.iter().map(|p| p.as_ref().to_path_buf()).collect();
        for f in files {
            let parent = f.as_ref().parent().unwrap_or(Path::new("."));
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            if !dirs.iter().any(|d| d == parent) {
                dirs.push(parent.to_path_buf());
            }
        }
        for f in files {
            if !f.as_ref().exists() {
                return Err(Error::new(
                    Code::NotFound,
                    format!("schema file {} not found", f.as_ref().display()),
                ));
            }
        }
        let mut resolver = ChainFileResolver::new();
        for dir in dirs {
            resolver.add(IncludeFileResolver::new(dir));
        }
        resolver.add(BundledResolver);
        resolver.add(GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.include_imports(true);
        for f in files {
            compiler.open_file(f.as_ref()).map_err(compile_error)?;
        }
        Schema::from_pool(compiler.descriptor_pool())
    }

    /// Compiles one `.proto` file given as text; `name` is its file name (`greeter.proto`).
    pub fn from_source(name: &str, text: &str) -> Result<Schema> {
        Schema::from_sources(&[(name, text)])
    }

    /// Compiles several `.proto` files given as `(name, text)`; they may import each other.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Schema> {
        let mut compiler = memory_compiler(sources);
        compiler.include_imports(true);
        for (name, _) in sources {
            compiler.open_file(name).map_err(compile_error)?;
        }
        Schema::from_pool(compiler.descriptor_pool())
    }

    /// Loads a serialized `google.protobuf.FileDescriptorSet` (as `protoc -o` or
    /// `buf build -o` write, or as [`Schema::to_descriptor_set`] returns).
    pub fn from_descriptor_set(bytes: &[u8]) -> Result<Schema> {
        let pool = DescriptorPool::decode(bytes).map_err(|e| {
            Error::new(
                Code::InvalidArgument,
                format!("invalid FileDescriptorSet: {e}"),
            )
            .with_reason("SCHEMA_INVALID")
        })?;
        Schema::from_pool(pool)
    }

    /// Wraps an existing descriptor pool.
    pub fn from_pool(pool: DescriptorPool) -> Result<Schema> {
        let mut methods = crate::metrics::FastMap::default();
        for service in pool.services() {
            for m in service.methods() {
                let name = format!("{}/{}", service.full_name(), m.name());
                methods.insert(
                    name.clone(),
                    MethodInfo {
                        name,
                        descriptor: m,
                    },
                );
            }
        }
        let topics = crate::topic::declared(&pool)?;
        Ok(Schema {
            inner: Arc::new(SchemaInner {
                pool,
                methods,
                topics,
            }),
        })
    }

    /// Serializes every file of this schema as a `FileDescriptorSet`.
    pub fn to_descriptor_set(&self) -> Vec<u8> {
        self.inner.pool.encode_to_vec()
    }

    /// The underlying descriptor pool.
    pub fn pool(&self) -> &DescriptorPool {
        &self.inner.pool
    }

    /// Looks up a method by `package.Service/Method` (a leading `/` or a `.` before the
    /// method name are accepted too).
    pub fn method(&self, name: &str) -> Option<&MethodInfo> {
        let name = name.strip_prefix('/').unwrap_or(name);
        if let Some(m) = self.inner.methods.get(name) {
            return Some(m);
        }
        let (service, method) = name.rsplit_once('.')?;
        self.inner.methods.get(&format!("{service}/{method}"))
    }

    /// Looks up a method, or returns `Unimplemented` naming it.
    pub fn require_method(&self, name: &str) -> Result<&MethodInfo> {
        self.method(name)
            .ok_or_else(|| Error::unimplemented_method(name))
    }

    /// Every method, sorted by name.
    pub fn methods(&self) -> Vec<&MethodInfo> {
        let mut v: Vec<&MethodInfo> = self.inner.methods.values().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Every method name, sorted.
    pub fn method_names(&self) -> Vec<String> {
        self.methods().into_iter().map(|m| m.name.clone()).collect()
    }

    /// Every fully qualified service name, sorted.
    pub fn services(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .inner
            .pool
            .services()
            .map(|s| s.full_name().to_string())
            .collect();
        v.sort();
        v
    }

    /// The topic patterns the schema declares on its message types
    /// (`option (hms.ffi.v1.topic) = "orders.>"`), in file and declaration order: a bus over
    /// this schema starts with them declared.
    pub fn topics(&self) -> &[crate::topic::Declared] {
        &self.inner.topics
    }

    /// Looks up a message type by its full name (`demo.v1.HelloRequest`).
    pub fn message(&self, full_name: &str) -> Option<MessageDescriptor> {
        self.inner.pool.get_message_by_name(full_name)
    }
}

/// Turns a protox error into `InvalidArgument` (or `NotFound`) with `file:line:column`.
pub(crate) fn compile_error(e: protox::Error) -> Error {
    let code = if e.is_file_not_found() || e.is_io() {
        Code::NotFound
    } else {
        Code::InvalidArgument
    };
    let file = e.file().unwrap_or("<unknown>").to_string();
    let mut position = None;
    if let (Some(src), Some(mut labels)) = (e.source_code(), e.labels()) {
        if let Some(label) = labels.next() {
            if let Ok(span) = src.read_span(label.inner(), 0, 0) {
                position = Some((span.line() + 1, span.column() + 1));
            }
        }
    }
    let mut metadata = BTreeMap::new();
    metadata.insert("file".to_string(), file.clone());
    let message = match position {
        Some((line, col)) => {
            metadata.insert("line".to_string(), line.to_string());
            metadata.insert("column".to_string(), col.to_string());
            format!("{file}:{line}:{col}: {e}")
        }
        None => format!("{file}: {e}"),
    };
    let mut err = Error::new(code, message);
    err.details_mut().error_info = Some(ErrorInfo {
        reason: "SCHEMA_INVALID".to_string(),
        domain: "hms-ffi".to_string(),
        metadata,
    });
    err
}
