//! Docs from `.proto` comments: the leading comment of a descriptor (or its trailing one when it
//! has none), found in the file's `source_code_info` by the descriptor's path. The core's
//! loader keeps the source info in its pool, and protoc and buf send it to plugins.

use prost_reflect::FileDescriptor;

/// The comment of the element at `path` in `file`, trimmed, lines joined with `\n`; empty when
/// there is none (or the file came without source info).
pub(crate) fn of(file: &FileDescriptor, path: &[i32]) -> String {
    let Some(info) = &file.file_descriptor_proto().source_code_info else {
        return String::new();
    };
    let Some(loc) = info.location.iter().find(|l| l.path == path) else {
        return String::new();
    };
    let text = loc
        .leading_comments
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .or(loc.trailing_comments.as_deref())
        .unwrap_or("");
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect();
    let start = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |i| i + 1);
    lines[start..end].join("\n")
}

/// `doc` as comment lines, each starting with `prefix` (`"/// "`, `"# "`, …) and indented by
/// `indent`; nothing for an empty doc.
pub(crate) fn lines(doc: &str, indent: &str, prefix: &str) -> String {
    let mut out = String::new();
    for line in doc.lines() {
        out.push_str(indent);
        if line.is_empty() {
            out.push_str(prefix.trim_end());
        } else {
            out.push_str(prefix);
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// `doc` as a block comment (`/** … */`, as TypeScript, PHP, Kotlin and Go-less languages
/// write docs), indented by `indent`; `*/` in the text is broken up so it cannot end the block.
pub(crate) fn block(doc: &str, indent: &str) -> String {
    if doc.is_empty() {
        return String::new();
    }
    // Kotlin nests block comments, so an opening is broken up too.
    let doc = doc.replace("*/", "*\\/").replace("/*", "/\\*");
    if !doc.contains('\n') {
        return format!("{indent}/** {doc} */\n");
    }
    format!("{indent}/**\n{}{indent} */\n", lines(&doc, indent, " * "))
}

/// Two docs as paragraphs of one.
pub(crate) fn join(first: &str, second: &str) -> String {
    match (first.is_empty(), second.is_empty()) {
        (true, _) => second.to_string(),
        (_, true) => first.to_string(),
        _ => format!("{first}\n\n{second}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_come_from_the_source_info_by_path() {
        let schema = hms_ffi_core::Schema::from_source(
            "d.proto",
            "syntax = \"proto3\";\npackage d;\n// A greeting.\n//\n//  Indented line.\nmessage M {\n  string a = 1; // trailing\n}\n",
        )
        .unwrap();
        let m = schema.pool().get_message_by_name("d.M").unwrap();
        assert_eq!(
            of(&m.parent_file(), m.path()),
            "A greeting.\n\n Indented line."
        );
        let f = m.get_field_by_name("a").unwrap();
        assert_eq!(of(&f.parent_file(), f.path()), "trailing");
    }

    #[test]
    fn block_comments_cannot_be_closed_by_the_text() {
        assert_eq!(block("a */ b", ""), "/** a *\\/ b */\n");
        assert_eq!(
            block("google/protobuf/*.proto", ""),
            "/** google/protobuf/\\*.proto */\n"
        );
        assert_eq!(block("a\nb", "  "), "  /**\n   * a\n   * b\n   */\n");
        assert_eq!(lines("x\n\ny", "", "# "), "# x\n#\n# y\n");
    }
}
