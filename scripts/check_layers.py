#!/usr/bin/env python3
"""No upward imports in the core: every `crate::…` path in core/src/**/*.rs names a module of the
importing module's own layer or a lower one.

The layer table is read from docs/architecture.md (the rows between `<!-- layers:begin -->` and
`<!-- layers:end -->`): that document is the one source of truth, this script only enforces it.

A path is attributed to the crate's top-level module it names (`crate::transport::frame::X` is
`transport`); a name the crate root re-exports (`crate::Error`, `crate::Context`) is attributed to
the module `core/src/lib.rs` re-exports it from. Comments and string literals are ignored (intra-doc
links are not imports); `#[cfg(test)]` code counts like any other. `super::` paths never leave
their top-level module and are not checked. Every top-level module must be in the table, and every
`crate::` path must resolve, or the check fails too.

Usage: python3 scripts/check_layers.py [--doc docs/architecture.md] [--src core/src]
Exit status: 0 when clean, 1 on any violation (each printed as file:line with both layers).
"""

import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_layers(doc):
    """{module: (rank, layer name)} from the table in the architecture document."""
    text = doc.read_text()
    m = re.search(r"<!-- layers:begin -->(.*?)<!-- layers:end -->", text, re.S)
    if not m:
        sys.exit(f"{doc}: no <!-- layers:begin --> … <!-- layers:end --> table")
    layers = {}
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].isdigit():
            continue
        rank, name = int(cells[0]), cells[1]
        for module in re.findall(r"`([a-z_]+)`", cells[2]):
            if module in layers:
                sys.exit(f"{doc}: module {module} is in two layers")
            layers[module] = (rank, name)
    if not layers:
        sys.exit(f"{doc}: the layer table has no rows")
    return layers


def blank_comments_and_strings(src):
    """The source with comments and the contents of string and char literals replaced by
    spaces (newlines kept, so line numbers stay right)."""
    out, i, n = [], 0, len(src)

    def blank(text):
        return re.sub(r"[^\n]", " ", text)

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(src[i:j]))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(src[i:j]))
            i = j
        elif (m := re.match(r'b?r(#*)"', src[i:])) and (i == 0 or not src[i - 1].isalnum()):
            end = src.find('"' + m.group(1), i + m.end())
            j = n if end < 0 else end + 1 + len(m.group(1))
            out.append(blank(src[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append(blank(src[i : j + 1]))
            i = j + 1
        elif c == "'":
            # A char literal ('a', '\n', '\u{1F600}'), else a lifetime or label ('a, 'static).
            m = re.match(r"'(\\(u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^\\'])'", src[i:])
            if m:
                out.append(blank(m.group(0)))
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def paths_in(text):
    """(offset, first segment, shown path) for every `crate::` path, `use` groups expanded."""
    found = []
    for m in re.finditer(r"(?<![A-Za-z0-9_])\$?crate\s*::\s*", text):
        pos = m.end()
        if text.startswith("{", pos):
            depth, j, start = 0, pos, pos + 1
            items = []
            while j < len(text):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        items.append((start, text[start:j]))
                        break
                elif text[j] == "," and depth == 1:
                    items.append((start, text[start:j]))
                    start = j + 1
                j += 1
            for at, item in items:
                seg = IDENT.search(item)
                if seg and seg.group(0) != "self":
                    shown = "crate::" + " ".join(item.split())
                    found.append((at + seg.start(), seg.group(0), shown))
        else:
            seg = IDENT.match(text, pos)
            if seg:
                raw = re.match(r"[A-Za-z0-9_:\s]*", text[pos:]).group(0)
                tail = "".join(raw.split())
                if tail.endswith("::") and text.startswith("{", pos + len(raw)):
                    tail += "{…}"
                found.append((pos, seg.group(0), "crate::" + tail.rstrip(":")))
    return found


def root_names(lib_text, modules):
    """{name: module} for every name lib.rs re-exports from one of the crate's modules."""
    names = {}
    for m in re.finditer(r"pub\s+use\s+([a-z_]+)\s*::\s*(\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)", lib_text):
        module, what = m.group(1), m.group(2)
        if module not in modules:
            continue
        for item in IDENT.findall(what.strip("{}")) if what.startswith("{") else [what]:
            names[item] = module
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--doc", type=pathlib.Path, default=ROOT / "docs/architecture.md")
    ap.add_argument("--src", type=pathlib.Path, default=ROOT / "core/src")
    args = ap.parse_args()

    layers = read_layers(args.doc)
    lib = blank_comments_and_strings((args.src / "lib.rs").read_text())
    modules = set(re.findall(r"(?m)^\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_]+)\s*;", lib))
    problems = []
    for module in sorted(modules - set(layers)):
        problems.append(f"{args.src / 'lib.rs'}: module {module} is in no layer of {args.doc}")
    for module in sorted(set(layers) - modules):
        problems.append(f"{args.doc}: layer table names {module}, which is no module of the crate")
    names = root_names(lib, modules)

    checked = 0
    for path in sorted(args.src.rglob("*.rs")):
        rel = path.relative_to(args.src)
        if rel.parts == ("lib.rs",):
            continue
        owner = rel.parts[0].removesuffix(".rs")
        if owner not in layers:
            continue  # reported above
        text = blank_comments_and_strings(path.read_text())
        for offset, seg, shown in paths_in(text):
            line = text.count("\n", 0, offset) + 1
            where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line}"
            target = seg if seg in modules else names.get(seg)
            if target is None:
                problems.append(f"{where}: cannot tell which module {shown} belongs to")
                continue
            checked += 1
            (own_rank, own_layer), (rank, layer) = layers[owner], layers[target]
            if rank > own_rank:
                problems.append(
                    f"{where}: {owner} (layer {own_rank} {own_layer}) imports {shown} "
                    f"from {target} (layer {rank} {layer}), a higher layer"
                )
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} problem(s) in {checked} crate:: paths", file=sys.stderr)
        return 1
    print(f"check_layers: {checked} crate:: paths in core/src, no upward import")
    return 0


if __name__ == "__main__":
    sys.exit(main())
