//! File and package rules: files, packages and the top-level or nested types they hold are not
//! deleted (`FILE_NO_DELETE`, `MESSAGE_NO_DELETE`, `PACKAGE_MESSAGE_NO_DELETE`, …), and a file
//! keeps its package, syntax and code-generation options (`FILE_SAME_*`).
//!
//! Files are paired by path, packages by name, types by their name inside the package. A type
//! deleted from a file is reported at the closest enclosing message left in the new file, or
//! on the file itself.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::FileOptions;

use super::image::{Image, Index, Place};
use super::{Findings, Pair};

/// The kinds of type a file or package holds, with the rules that guard each.
#[derive(Clone, Copy)]
enum Kind {
    Message,
    Enum,
    Extension,
    Service,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Message, Kind::Enum, Kind::Extension, Kind::Service];

    fn word(self) -> &'static str {
        match self {
            Kind::Message => "message",
            Kind::Enum => "enum",
            Kind::Extension => "extension",
            Kind::Service => "service",
        }
    }

    fn file_rule(self) -> &'static str {
        match self {
            Kind::Message => "MESSAGE_NO_DELETE",
            Kind::Enum => "ENUM_NO_DELETE",
            Kind::Extension => "EXTENSION_NO_DELETE",
            Kind::Service => "SERVICE_NO_DELETE",
        }
    }

    fn package_rule(self) -> &'static str {
        match self {
            Kind::Message => "PACKAGE_MESSAGE_NO_DELETE",
            Kind::Enum => "PACKAGE_ENUM_NO_DELETE",
            Kind::Extension => "PACKAGE_EXTENSION_NO_DELETE",
            Kind::Service => "PACKAGE_SERVICE_NO_DELETE",
        }
    }

    /// Every element of this kind as (file index, name inside the package).
    fn names(self, index: &Index<'_>) -> Vec<(usize, String)> {
        match self {
            Kind::Message => index
                .messages
                .values()
                .map(|m| (m.file, m.nested.clone()))
                .collect(),
            Kind::Enum => index
                .enums
                .values()
                .map(|e| (e.file, e.nested.clone()))
                .collect(),
            Kind::Extension => index
                .extensions
                .values()
                .map(|x| (x.file, x.nested.clone()))
                .collect(),
            Kind::Service => index
                .services
                .values()
                .map(|s| (s.file, s.proto.name().to_string()))
                .collect(),
        }
    }
}

pub(super) fn check(p: &Pair<'_>, out: &mut Findings) {
    let new_files: BTreeMap<&str, usize> = p
        .new
        .files()
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name(), i))
        .collect();
    for (old_file, f) in p.old.files().iter().enumerate() {
        match new_files.get(f.name()) {
            None => out.add(
                "FILE_NO_DELETE",
                Place {
                    path: f.name().to_string(),
                    at: None,
                },
                format!("Previously present file {:?} was deleted.", f.name()),
            ),
            Some(&new_file) => same_file(p, old_file, new_file, out),
        }
    }
    for kind in Kind::ALL {
        deleted_from_files(p, kind, &new_files, out);
        deleted_from_packages(p, kind, &new_files, out);
    }
    deleted_packages(p, out);
}

/// `*_NO_DELETE` within one file: what the old file held and the new file of that path lacks.
fn deleted_from_files(
    p: &Pair<'_>,
    kind: Kind,
    new_files: &BTreeMap<&str, usize>,
    out: &mut Findings,
) {
    let now: BTreeSet<(usize, String)> = kind.names(p.new_index).into_iter().collect();
    for (old_file, name) in kind.names(p.old_index) {
        let Some(&new_file) = new_files.get(p.old.files()[old_file].name()) else {
            continue;
        };
        if now.contains(&(new_file, name.clone())) {
            continue;
        }
        let place = match kind {
            Kind::Service => p.new.place(new_file, &[]),
            _ => enclosing(p.new, p.new_index, new_file, &name),
        };
        out.add(
            kind.file_rule(),
            place,
            format!(
                "Previously present {} {name:?} was deleted from file.",
                kind.word()
            ),
        );
    }
}

/// `PACKAGE_*_NO_DELETE`: what a package held and the same package of the new revision lacks.
fn deleted_from_packages(
    p: &Pair<'_>,
    kind: Kind,
    new_files: &BTreeMap<&str, usize>,
    out: &mut Findings,
) {
    let package = |image: &Image, file: usize| image.files()[file].package().to_string();
    let now: BTreeSet<(String, String)> = kind
        .names(p.new_index)
        .into_iter()
        .map(|(f, n)| (package(p.new, f), n))
        .collect();
    // As in buf, a package is compared for services whenever it is still there, for the other
    // kinds only when it still holds one of that kind: a package whose last enum went is not
    // reported by PACKAGE_ENUM_NO_DELETE (ENUM_NO_DELETE reports it).
    let packages: BTreeSet<String> = match kind {
        Kind::Service => p.new.files().iter().map(|f| f.package().into()).collect(),
        _ => now.iter().map(|(pkg, _)| pkg.clone()).collect(),
    };
    for (old_file, name) in kind.names(p.old_index) {
        let pkg = package(p.old, old_file);
        if !packages.contains(&pkg) || now.contains(&(pkg.clone(), name.clone())) {
            continue;
        }
        let place = match (new_files.get(p.old.files()[old_file].name()), kind) {
            (Some(&f), Kind::Service) => p.new.place(f, &[]),
            (Some(&f), _) => enclosing(p.new, p.new_index, f, &name),
            (None, _) => Place {
                path: String::new(),
                at: None,
            },
        };
        out.add(
            kind.package_rule(),
            place,
            format!(
                "Previously present {} {name:?} was deleted from package {pkg:?}.",
                kind.word()
            ),
        );
    }
}

/// `PACKAGE_NO_DELETE`, reported on the first old file of the package.
fn deleted_packages(p: &Pair<'_>, out: &mut Findings) {
    let now: BTreeSet<&str> = p.new.files().iter().map(|f| f.package()).collect();
    let mut gone: BTreeMap<&str, &str> = BTreeMap::new();
    for f in p.old.files() {
        if !now.contains(f.package()) {
            let first = gone.entry(f.package()).or_insert(f.name());
            *first = (*first).min(f.name());
        }
    }
    for (pkg, file) in gone {
        out.add(
            "PACKAGE_NO_DELETE",
            Place {
                path: file.to_string(),
                at: None,
            },
            format!("Previously present package {pkg:?} was deleted."),
        );
    }
}

/// Where a type deleted from a file is reported: the closest enclosing message that is still
/// in that file, or the file.
fn enclosing(image: &Image, index: &Index<'_>, file: usize, nested: &str) -> Place {
    let parts: Vec<&str> = nested.split('.').collect();
    for i in (1..parts.len()).rev() {
        let outer = parts[..i].join(".");
        if let Some(m) = index
            .messages
            .values()
            .find(|m| m.file == file && m.nested == outer)
        {
            return image.place(file, &[&m.path]);
        }
    }
    image.place(file, &[])
}

/// The rules on one file present in both revisions: package, syntax and options.
fn same_file(p: &Pair<'_>, old_file: usize, new_file: usize, out: &mut Findings) {
    let (old, new) = (&p.old.files()[old_file], &p.new.files()[new_file]);
    let syntax = |s: &str| if s.is_empty() { "proto2" } else { s }.to_string();
    let mut same = |rule, what: &str, path: &[i32], before: String, after: String| {
        if before != after {
            out.add(
                rule,
                p.new.place(new_file, &[path]),
                format!("File {what} changed from {before:?} to {after:?}."),
            );
        }
    };
    same(
        "FILE_SAME_PACKAGE",
        "package",
        &[2],
        old.package().into(),
        new.package().into(),
    );
    same(
        "FILE_SAME_SYNTAX",
        "syntax",
        &[12],
        syntax(old.syntax()),
        syntax(new.syntax()),
    );
    let none = FileOptions::default();
    let (a, b) = (
        old.options.as_ref().unwrap_or(&none),
        new.options.as_ref().unwrap_or(&none),
    );
    for (rule, option, number, value) in FILE_OPTIONS {
        same(
            rule,
            &format!("option {option:?}"),
            &[8, *number],
            value(a),
            value(b),
        );
    }
}

type OptionValue = fn(&FileOptions) -> String;

/// The `FILE_SAME_*` options: rule, option name, its field number in `FileOptions`, its value
/// (the default when unset, as buf compares them).
const FILE_OPTIONS: &[(&str, &str, i32, OptionValue)] = &[
    ("FILE_SAME_JAVA_PACKAGE", "java_package", 1, |o| {
        o.java_package().into()
    }),
    (
        "FILE_SAME_JAVA_OUTER_CLASSNAME",
        "java_outer_classname",
        8,
        |o| o.java_outer_classname().into(),
    ),
    ("FILE_SAME_OPTIMIZE_FOR", "optimize_for", 9, |o| {
        o.optimize_for().as_str_name().into()
    }),
    (
        "FILE_SAME_JAVA_MULTIPLE_FILES",
        "java_multiple_files",
        10,
        |o| o.java_multiple_files().to_string(),
    ),
    ("FILE_SAME_GO_PACKAGE", "go_package", 11, |o| {
        o.go_package().into()
    }),
    (
        "FILE_SAME_CC_GENERIC_SERVICES",
        "cc_generic_services",
        16,
        |o| o.cc_generic_services().to_string(),
    ),
    (
        "FILE_SAME_JAVA_GENERIC_SERVICES",
        "java_generic_services",
        17,
        |o| o.java_generic_services().to_string(),
    ),
    (
        "FILE_SAME_PY_GENERIC_SERVICES",
        "py_generic_services",
        18,
        |o| o.py_generic_services().to_string(),
    ),
    ("FILE_SAME_CC_ENABLE_ARENAS", "cc_enable_arenas", 31, |o| {
        o.cc_enable_arenas().to_string()
    }),
    (
        "FILE_SAME_OBJC_CLASS_PREFIX",
        "objc_class_prefix",
        36,
        |o| o.objc_class_prefix().into(),
    ),
    ("FILE_SAME_CSHARP_NAMESPACE", "csharp_namespace", 37, |o| {
        o.csharp_namespace().into()
    }),
    ("FILE_SAME_SWIFT_PREFIX", "swift_prefix", 39, |o| {
        o.swift_prefix().into()
    }),
    ("FILE_SAME_PHP_CLASS_PREFIX", "php_class_prefix", 40, |o| {
        o.php_class_prefix().into()
    }),
    ("FILE_SAME_PHP_NAMESPACE", "php_namespace", 41, |o| {
        o.php_namespace().into()
    }),
    (
        "FILE_SAME_PHP_METADATA_NAMESPACE",
        "php_metadata_namespace",
        44,
        |o| o.php_metadata_namespace().into(),
    ),
    ("FILE_SAME_RUBY_PACKAGE", "ruby_package", 45, |o| {
        o.ruby_package().into()
    }),
];
