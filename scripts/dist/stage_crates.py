#!/usr/bin/env python3
"""Lay out a self-contained Cargo workspace for a package that builds hms-ffi from source.

    python3 scripts/dist/stage_crates.py OUT BINDING_DIR [BINDING_DIR...]

OUT gets `crates/hms-ffi-core`, `crates/workspace-hack` (the feature-unifying crate every
manifest points at as `../workspace-hack`) and each binding crate (its checkout directory, e.g.
`node` or `ruby`, staged under its package name), a workspace `Cargo.toml` of just those crates
with the checkout's settings and `Cargo.lock`. A gem, an npm package or an sdist carries this
tree instead of the checkout; building it needs cargo and crates.io, nothing of ours.
"""
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def package_name(manifest: str) -> str:
    found = re.search(r'^name = "([^"]+)"', manifest, re.M)
    if not found:
        raise SystemExit(f"no package name in {manifest[:80]!r}")
    return found.group(1)


def stage_crate(src: Path, dest: Path) -> str:
    manifest = (src / "Cargo.toml").read_text()
    # Examples live outside the crate in the checkout; a package builds only the library.
    manifest = re.sub(r"\n\[\[example\]\].*\Z", "\n", manifest, flags=re.S)
    name = package_name(manifest)
    out = dest / name
    out.mkdir(parents=True)
    shutil.copytree(src / "src", out / "src")
    # Files the sources include (`include_str!`): the core's own .proto files.
    if (src / "proto").is_dir():
        shutil.copytree(src / "proto", out / "proto")
    if (src / "build.rs").exists():
        shutil.copy(src / "build.rs", out / "build.rs")
    (out / "Cargo.toml").write_text(manifest)
    return name


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1]).resolve()
    crates = out / "crates"
    if crates.exists():
        shutil.rmtree(crates)
    crates.mkdir(parents=True)
    names = [stage_crate(ROOT / d, crates) for d in ["core", *argv[2:]]]
    shutil.copytree(ROOT / "workspace-hack", crates / "workspace-hack")
    members = ", ".join(f'"crates/{n}"' for n in [*names, "workspace-hack"])
    workspace = (ROOT / "Cargo.toml").read_text()
    workspace = re.sub(r"^members = .*$", f"members = [{members}]", workspace, flags=re.M)
    workspace = re.sub(r"^default-members = .*\n", "", workspace, flags=re.M)
    workspace = re.sub(r"^exclude = .*\n", "", workspace, flags=re.M)
    workspace = re.sub(r"^#.*\n", "", workspace, flags=re.M)
    workspace = workspace.replace('path = "core"', 'path = "crates/hms-ffi-core"')
    # Bench settings are the checkout's; a package has no benches.
    workspace = re.sub(r"\n\[profile\.bench\].*\Z", "\n", workspace, flags=re.S)
    (out / "Cargo.toml").write_text(workspace)
    shutil.copy(ROOT / "Cargo.lock", out / "Cargo.lock")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
