//! Enum rules, on each enum present in both revisions (paired by full name): value numbers are
//! not deleted (or only with the number, or the names, reserved), a number keeps every name it
//! had (aliases may be added), reserved ranges and names stay, and the enum stays open or closed
//! with the same JSON support.

use std::collections::{BTreeMap, BTreeSet};

use prost_types::EnumDescriptorProto;

use super::image::{child, sub, Enm, ENUM_VALUE};
use super::messages::reserved_names;
use super::ranges::{self, Ranges, ENUM_MAX};
use super::{Findings, Pair};

pub(super) fn check(p: &Pair<'_>, out: &mut Findings) {
    for (name, old) in &p.old_index.enums {
        if let Some(new) = p.new_index.enums.get(name) {
            pair(p, old, new, out);
        }
    }
}

/// Value number -> (its names, the source path of its first value).
fn numbers<'a>(e: &Enm<'a>) -> BTreeMap<i32, (BTreeSet<&'a str>, Vec<Vec<i32>>)> {
    let mut out: BTreeMap<i32, (BTreeSet<&'a str>, Vec<Vec<i32>>)> = BTreeMap::new();
    for (i, v) in e.proto.value.iter().enumerate() {
        let entry = out.entry(v.number()).or_default();
        entry.0.insert(v.name());
        entry.1.push(child(&e.path, ENUM_VALUE, i));
    }
    out
}

fn pair(p: &Pair<'_>, old: &Enm<'_>, new: &Enm<'_>, out: &mut Findings) {
    let here = p.new.place(new.file, &[&new.path]);
    let name = new.proto.name();
    let (before, after) = (numbers(old), numbers(new));
    for (number, (names, _)) in &before {
        match after.get(number) {
            None => deleted_value(out, &here, new.proto, *number, names),
            Some((now, paths)) if !names.is_subset(now) => {
                let s = if names.len() > 1 && now.len() > 1 {
                    "s"
                } else {
                    ""
                };
                let quote = |n: &BTreeSet<&str>| {
                    n.iter()
                        .map(|n| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                for path in paths {
                    out.add(
                        "ENUM_VALUE_SAME_NAME",
                        p.new.place(new.file, &[&sub(path, &[2]), path]),
                        format!(
                            "Enum value \"{number}\" on enum {name:?} changed name{s} from {} to {}.",
                            quote(names),
                            quote(now)
                        ),
                    );
                }
            }
            Some(_) => {}
        }
    }

    let inclusive = |e: &EnumDescriptorProto| -> Vec<(i64, i64)> {
        e.reserved_range
            .iter()
            .map(|r| (i64::from(r.start()), i64::from(r.end())))
            .collect()
    };
    let on = format!("enum {name:?}");
    let rule = Ranges {
        rule: "RESERVED_ENUM_NO_DELETE",
        what: "reserved",
        on: on.clone(),
        max: ENUM_MAX,
    };
    ranges::check(
        out,
        &rule,
        &here,
        &inclusive(old.proto),
        &inclusive(new.proto),
    );
    reserved_names(
        out,
        "RESERVED_ENUM_NO_DELETE",
        &on,
        &here,
        &old.proto.reserved_name,
        &new.proto.reserved_name,
    );

    // Without editions, proto2 enums are closed with best-effort JSON, proto3 enums open.
    let (was3, is3) = (p.old.proto3(old.file), p.new.proto3(new.file));
    if was3 != is3 {
        let state = |proto3| if proto3 { "open" } else { "closed" };
        out.add(
            "ENUM_SAME_TYPE",
            here.clone(),
            format!(
                "Enum {name:?} changed from {} to {}.",
                state(was3),
                state(is3)
            ),
        );
    }
    if was3 && !is3 {
        out.add(
            "ENUM_SAME_JSON_FORMAT",
            here,
            format!("Enum {name:?} JSON format support changed from ALLOW to LEGACY_BEST_EFFORT."),
        );
    }
}

/// `ENUM_VALUE_NO_DELETE` and its two lenient forms (unless the number, or every name, is
/// reserved).
fn deleted_value(
    out: &mut Findings,
    here: &super::image::Place,
    new: &EnumDescriptorProto,
    number: i32,
    names: &BTreeSet<&str>,
) {
    let what = format!(
        "Previously present enum value \"{number}\" on enum {:?} was deleted",
        new.name()
    );
    out.add("ENUM_VALUE_NO_DELETE", here.clone(), format!("{what}."));
    let number_reserved = new
        .reserved_range
        .iter()
        .any(|r| (r.start()..=r.end()).contains(&number));
    if !number_reserved {
        out.add(
            "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
            here.clone(),
            format!("{what} without reserving the number \"{number}\"."),
        );
    }
    if !names
        .iter()
        .all(|n| new.reserved_name.iter().any(|r| r == n))
    {
        let s = if names.len() > 1 { "s" } else { "" };
        let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
        out.add(
            "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
            here.clone(),
            format!(
                "{what} without reserving the name{s} {}.",
                quoted.join(", ")
            ),
        );
    }
}
