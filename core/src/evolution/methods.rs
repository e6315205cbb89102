//! The check narrowed to one method: [`check_method`] compares what a method reaches in two
//! revisions — its service with that method alone, and the messages and enums its request and
//! response types reach through their fields — so a client learns which of the methods it uses
//! a new revision breaks, and every other method keeps working.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost_types::{DescriptorProto, FileDescriptorProto};

use super::image::{Image, FILE_ENUM, FILE_EXTENSION, FILE_MESSAGE, FILE_SERVICE, SERVICE_METHOD};
use super::{check, Category, Finding};

/// Every message of a file by full name (`pkg.Outer.Inner`), nested ones included.
fn messages<'a>(
    prefix: &str,
    list: &'a [DescriptorProto],
    out: &mut HashMap<String, &'a DescriptorProto>,
) {
    for m in list {
        let full = format!("{prefix}.{}", m.name());
        messages(&full, &m.nested_type, out);
        out.insert(full, m);
    }
}

fn prefix(f: &FileDescriptorProto) -> String {
    match f.package() {
        "" => String::new(),
        p => format!(".{p}"),
    }
}

/// The full names (with a leading dot) of the types `roots` reach through their fields.
fn reachable(files: &[FileDescriptorProto], roots: &[&str]) -> BTreeSet<String> {
    let mut index = HashMap::new();
    for f in files {
        messages(&prefix(f), &f.message_type, &mut index);
    }
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(m) = index.get(&name) {
            todo.extend(
                m.field
                    .iter()
                    .filter(|f| !f.type_name().is_empty())
                    .map(|f| f.type_name().to_string()),
            );
        }
    }
    seen
}

/// Whether `m` (named `full`) or a type nested in it is in `keep`.
fn kept(full: &str, m: &DescriptorProto, keep: &BTreeSet<String>) -> bool {
    keep.contains(full)
        || m.nested_type
            .iter()
            .any(|n| kept(&format!("{full}.{}", n.name()), n, keep))
        || m.enum_type
            .iter()
            .any(|e| keep.contains(&format!("{full}.{}", e.name())))
}

/// Keeps the elements of `list` that `keep` says, and returns old index -> new index.
fn retain<T>(list: &mut Vec<T>, keep: impl Fn(&T) -> bool) -> BTreeMap<i32, i32> {
    let mut moved = BTreeMap::new();
    let mut i = 0;
    list.retain(|x| {
        let k = keep(x);
        if k {
            moved.insert(i, moved.len() as i32);
        }
        i += 1;
        k
    });
    moved
}

impl Image {
    /// The image narrowed to `method` (`pkg.Service/Method`): every file, each keeping only that
    /// service and method, the top-level messages and enums the method reaches (whole), and no
    /// extensions. `None` when the image has no such method.
    pub fn for_method(&self, method: &str) -> Option<Image> {
        let (service, name) = method.split_once('/')?;
        let (file, svc) = self.files.iter().enumerate().find_map(|(i, f)| {
            let s = f.service.iter().find(|s| match f.package() {
                "" => s.name() == service,
                p => service.strip_prefix(p).and_then(|r| r.strip_prefix('.')) == Some(s.name()),
            })?;
            Some((i, s))
        })?;
        let m = svc.method.iter().find(|m| m.name() == name)?;
        let keep = reachable(&self.files, &[m.input_type(), m.output_type()]);
        let mut files = self.files.clone();
        let mut spans = self.spans.clone();
        for (i, f) in files.iter_mut().enumerate() {
            let p = prefix(f);
            let msgs = retain(&mut f.message_type, |m| {
                kept(&format!("{p}.{}", m.name()), m, &keep)
            });
            let enums = retain(&mut f.enum_type, |e| {
                keep.contains(&format!("{p}.{}", e.name()))
            });
            let svcs = retain(&mut f.service, |s| i == file && s.name() == svc.name());
            let mut methods = BTreeMap::new();
            for s in &mut f.service {
                methods = retain(&mut s.method, |x| x.name() == name);
            }
            f.extension.clear();
            spans[i] = std::mem::take(&mut spans[i])
                .into_iter()
                .filter_map(|(mut path, at)| {
                    let moved = match path.first().copied() {
                        Some(FILE_MESSAGE) => &msgs,
                        Some(FILE_ENUM) => &enums,
                        Some(FILE_SERVICE) => &svcs,
                        Some(FILE_EXTENSION) => return None,
                        _ => return Some((path, at)),
                    };
                    path[1] = *moved.get(path.get(1)?)?;
                    if path[0] == FILE_SERVICE && path.get(2) == Some(&SERVICE_METHOD) {
                        path[3] = *methods.get(path.get(3)?)?;
                    }
                    Some((path, at))
                })
                .collect();
        }
        Some(Image { files, spans })
    }
}

/// The findings that concern `method` between `old` (what a client was built against) and
/// `new` (what a server serves), under `category`. A method `new` lacks is one
/// `RPC_NO_DELETE` finding whatever the category; a method `old` lacks has none.
pub fn check_method(old: &Image, new: &Image, method: &str, category: Category) -> Vec<Finding> {
    let Some(before) = old.for_method(method) else {
        return Vec::new();
    };
    match new.for_method(method) {
        Some(after) => check(&before, &after, category),
        None => vec![Finding {
            rule: "RPC_NO_DELETE",
            path: String::new(),
            line: None,
            column: None,
            message: format!("Method {method:?} is not served."),
        }],
    }
}

#[cfg(test)]
#[path = "methods_tests.rs"]
mod tests;
