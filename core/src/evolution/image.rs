//! An [`Image`]: the `.proto` files of one revision, compiled with protox and kept with their
//! source positions, and the index the rules walk (every message, enum, service and extension
//! by full name, with the file and source path that place it).
//!
//! An input is a directory (every `.proto` file under it, named relative to it, as buf names the
//! files of a module) or one `.proto` file (named relative to its folder). Imports are looked up
//! in the input's root, then in the extra include folders, then among the well-known types.
//! Imported files belong to the image and are compared too, as `buf breaking` does unless told
//! `--exclude-imports`: an import NEW no longer uses counts as a deleted file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
    ServiceDescriptorProto,
};

use crate::error::{Code, Error, Result};
use crate::schema::{compile_error, memory_compiler};

// Field numbers of descriptor.proto, the steps of a source path.
pub(super) const FILE_MESSAGE: i32 = 4;
pub(super) const FILE_ENUM: i32 = 5;
pub(super) const FILE_SERVICE: i32 = 6;
pub(super) const FILE_EXTENSION: i32 = 7;
pub(super) const MESSAGE_FIELD: i32 = 2;
pub(super) const MESSAGE_NESTED: i32 = 3;
pub(super) const MESSAGE_ENUM: i32 = 4;
pub(super) const MESSAGE_EXTENSION: i32 = 6;
pub(super) const ENUM_VALUE: i32 = 2;
pub(super) const SERVICE_METHOD: i32 = 2;

/// The `.proto` files of one revision, with source positions. Build it with [`Image::load`] or
/// [`Image::from_sources`]; compare two with [`super::check`].
#[derive(Debug, Clone)]
pub struct Image {
    pub(super) files: Vec<FileDescriptorProto>,
    /// Per file: source path -> (line, column), both 1-based.
    pub(super) spans: Vec<HashMap<Vec<i32>, (u32, u32)>>,
}

/// A file and, when the element has one, its line and column.
#[derive(Debug, Clone)]
pub(super) struct Place {
    pub(super) path: String,
    pub(super) at: Option<(u32, u32)>,
}

impl Image {
    /// Compiles an input: a directory (every `.proto` file under it) or one `.proto` file.
    /// `includes` are extra folders for imports. A missing input is `NotFound`, a file that
    /// does not compile `InvalidArgument` with its `file:line:column`.
    pub fn load(input: impl AsRef<Path>, includes: &[impl AsRef<Path>]) -> Result<Image> {
        let input = input.as_ref();
        let (root, names) = if input.is_dir() {
            let mut names = Vec::new();
            proto_files(input, input, &mut names)?;
            if names.is_empty() {
                return Err(Error::new(
                    Code::InvalidArgument,
                    format!("no .proto files under {}", input.display()),
                ));
            }
            (input.to_path_buf(), names)
        } else if input.is_file() {
            let root = match input.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let name = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (root, vec![name])
        } else {
            return Err(Error::new(
                Code::NotFound,
                format!(
                    "{} is neither a .proto file nor a directory",
                    input.display()
                ),
            ));
        };
        let mut dirs = vec![root];
        dirs.extend(includes.iter().map(|p| p.as_ref().to_path_buf()));
        let mut compiler = protox::Compiler::new(&dirs).map_err(compile_error)?;
        Image::compile(&mut compiler, &names)
    }

    /// Compiles files given as `(name, text)`; they may import each other and the well-known
    /// types.
    pub fn from_sources(sources: &[(&str, &str)]) -> Result<Image> {
        let mut compiler = memory_compiler(sources);
        let names: Vec<String> = sources.iter().map(|(n, _)| n.to_string()).collect();
        Image::compile(&mut compiler, &names)
    }

    fn compile(compiler: &mut protox::Compiler, names: &[String]) -> Result<Image> {
        compiler.include_source_info(true).include_imports(true);
        for name in names {
            compiler.open_file(name).map_err(compile_error)?;
        }
        let mut files = compiler.file_descriptor_set().file;
        files.sort_by(|a, b| a.name().cmp(b.name()));
        let spans = files.iter().map(spans_of).collect();
        Ok(Image { files, spans })
    }

    /// The names of the compared files (the inputs and what they import), sorted.
    pub fn file_names(&self) -> Vec<&str> {
        self.files.iter().map(|f| f.name()).collect()
    }

    pub(super) fn files(&self) -> &[FileDescriptorProto] {
        &self.files
    }

    /// Where the element at `path` of file `file` starts, if the source shows it.
    pub(super) fn at(&self, file: usize, path: &[i32]) -> Option<(u32, u32)> {
        self.spans[file].get(path).copied()
    }

    /// The file and the place of the first of `paths` that has one.
    pub(super) fn place(&self, file: usize, paths: &[&[i32]]) -> Place {
        Place {
            path: self.files[file].name().to_string(),
            at: paths.iter().find_map(|p| self.at(file, p)),
        }
    }

    /// Whether file `file` is proto3 (otherwise proto2).
    pub(super) fn proto3(&self, file: usize) -> bool {
        self.files[file].syntax() == "proto3"
    }

    /// Every message, enum, service and extension of the image.
    pub(super) fn index(&self) -> Index<'_> {
        let mut index = Index::default();
        for (i, f) in self.files.iter().enumerate() {
            let scope = Scope {
                file: i,
                prefix: f.package().to_string(),
                nested: String::new(),
            };
            for (j, m) in f.message_type.iter().enumerate() {
                index.add_message(&scope, m, vec![FILE_MESSAGE, j as i32]);
            }
            for (j, e) in f.enum_type.iter().enumerate() {
                index.add_enum(&scope, e, vec![FILE_ENUM, j as i32]);
            }
            for (j, x) in f.extension.iter().enumerate() {
                index.add_extension(&scope, x, vec![FILE_EXTENSION, j as i32]);
            }
            for (j, s) in f.service.iter().enumerate() {
                index.services.insert(
                    join(&scope.prefix, s.name()),
                    Svc {
                        file: i,
                        proto: s,
                        path: vec![FILE_SERVICE, j as i32],
                    },
                );
            }
        }
        index
    }
}

/// The elements of an image by full name (extensions by extendee and number).
#[derive(Debug, Default)]
pub(super) struct Index<'a> {
    pub(super) messages: BTreeMap<String, Msg<'a>>,
    pub(super) enums: BTreeMap<String, Enm<'a>>,
    pub(super) services: BTreeMap<String, Svc<'a>>,
    pub(super) extensions: BTreeMap<(String, i32), Fld<'a>>,
}

/// A message, nested or not.
#[derive(Debug)]
pub(super) struct Msg<'a> {
    pub(super) file: usize,
    pub(super) proto: &'a DescriptorProto,
    pub(super) full: String,
    /// The name inside its file's package (`Outer.Inner`).
    pub(super) nested: String,
    pub(super) path: Vec<i32>,
    /// For a map's entry message, the path of the map field (where its fields are shown).
    pub(super) anchor: Option<Vec<i32>>,
}

/// An enum, nested or not.
#[derive(Debug)]
pub(super) struct Enm<'a> {
    pub(super) file: usize,
    pub(super) proto: &'a EnumDescriptorProto,
    pub(super) nested: String,
    pub(super) path: Vec<i32>,
}

/// A service.
#[derive(Debug)]
pub(super) struct Svc<'a> {
    pub(super) file: usize,
    pub(super) proto: &'a ServiceDescriptorProto,
    pub(super) path: Vec<i32>,
}

/// A field of a message, or an extension.
#[derive(Debug)]
pub(super) struct Fld<'a> {
    pub(super) file: usize,
    pub(super) proto: &'a FieldDescriptorProto,
    /// The message the field is declared in (`None` for an extension).
    pub(super) message: Option<&'a DescriptorProto>,
    /// For an extension, its name inside the package (`Outer.ext`) and its full name.
    pub(super) nested: String,
    pub(super) full: String,
    pub(super) path: Vec<i32>,
    /// Where the field is shown when its own path has no place (a map entry's key and value).
    pub(super) anchor: Option<Vec<i32>>,
}

struct Scope {
    file: usize,
    prefix: String,
    nested: String,
}

impl<'a> Index<'a> {
    fn add_message(&mut self, scope: &Scope, m: &'a DescriptorProto, path: Vec<i32>) {
        let full = join(&scope.prefix, m.name());
        let nested = join(&scope.nested, m.name());
        let inner = Scope {
            file: scope.file,
            prefix: full.clone(),
            nested: nested.clone(),
        };
        for (j, n) in m.nested_type.iter().enumerate() {
            self.add_message(&inner, n, child(&path, MESSAGE_NESTED, j));
            // A map's entry message has no place in the source: its fields are shown on the
            // map field that declares it.
            if n.options.as_ref().is_some_and(|o| o.map_entry()) {
                let entry = join(&full, n.name());
                let field = m
                    .field
                    .iter()
                    .position(|f| f.type_name().trim_start_matches('.') == entry);
                if let (Some(k), Some(e)) = (field, self.messages.get_mut(&entry)) {
                    e.anchor = Some(child(&path, MESSAGE_FIELD, k));
                }
            }
        }
        for (j, e) in m.enum_type.iter().enumerate() {
            self.add_enum(&inner, e, child(&path, MESSAGE_ENUM, j));
        }
        for (j, x) in m.extension.iter().enumerate() {
            self.add_extension(&inner, x, child(&path, MESSAGE_EXTENSION, j));
        }
        self.messages.insert(
            full.clone(),
            Msg {
                file: scope.file,
                proto: m,
                full,
                nested,
                path,
                anchor: None,
            },
        );
    }

    fn add_enum(&mut self, scope: &Scope, e: &'a EnumDescriptorProto, path: Vec<i32>) {
        self.enums.insert(
            join(&scope.prefix, e.name()),
            Enm {
                file: scope.file,
                proto: e,
                nested: join(&scope.nested, e.name()),
                path,
            },
        );
    }

    fn add_extension(&mut self, scope: &Scope, x: &'a FieldDescriptorProto, path: Vec<i32>) {
        let extendee = x.extendee().trim_start_matches('.').to_string();
        self.extensions.insert(
            (extendee, x.number()),
            Fld {
                file: scope.file,
                proto: x,
                message: None,
                nested: join(&scope.nested, x.name()),
                full: join(&scope.prefix, x.name()),
                path,
                anchor: None,
            },
        );
    }

    /// The fields of a message, by number.
    pub(super) fn fields_of(&self, m: &Msg<'a>) -> BTreeMap<i32, Fld<'a>> {
        m.proto
            .field
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let fld = Fld {
                    file: m.file,
                    proto: f,
                    message: Some(m.proto),
                    nested: String::new(),
                    full: join(&m.full, f.name()),
                    path: child(&m.path, MESSAGE_FIELD, j),
                    anchor: m.anchor.clone(),
                };
                (f.number(), fld)
            })
            .collect()
    }

    /// The message a field's type names, when it is one of this image's.
    pub(super) fn message_type(&self, f: &FieldDescriptorProto) -> Option<&Msg<'a>> {
        self.messages.get(f.type_name().trim_start_matches('.'))
    }
}

/// `prefix.name`, or `name` at the root.
pub(super) fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// `path` extended by one element: `step` (a field of the descriptor) and its `index`.
pub(super) fn child(path: &[i32], step: i32, index: usize) -> Vec<i32> {
    let mut p = path.to_vec();
    p.extend([step, index as i32]);
    p
}

/// `path` extended by the given steps.
pub(super) fn sub(path: &[i32], steps: &[i32]) -> Vec<i32> {
    let mut p = path.to_vec();
    p.extend_from_slice(steps);
    p
}

/// Every `.proto` file under `dir`, named relative to `root` with `/` separators, sorted.
fn proto_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let read = |e: std::io::Error| {
        Error::new(
            Code::NotFound,
            format!("cannot read directory {}: {e}", dir.display()),
        )
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(read)?;
    entries.sort();
    for path in entries {
        // Symlinked folders are not followed (a link back up would never end); linked files are.
        let linked_dir = path.is_symlink() && path.is_dir();
        if path.is_dir() && !linked_dir {
            proto_files(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            if let Ok(rel) = path.strip_prefix(root) {
                let parts: Vec<String> = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                out.push(parts.join("/"));
            }
        }
    }
    Ok(())
}

/// Source path -> (line, column) of where each element starts, 1-based.
pub(super) fn spans_of(f: &FileDescriptorProto) -> HashMap<Vec<i32>, (u32, u32)> {
    let mut spans = HashMap::new();
    for loc in f.source_code_info.iter().flat_map(|s| &s.location) {
        if let (Some(&line), Some(&col)) = (loc.span.first(), loc.span.get(1)) {
            spans
                .entry(loc.path.clone())
                .or_insert((line as u32 + 1, col as u32 + 1));
        }
    }
    spans
}
