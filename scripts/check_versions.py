#!/usr/bin/env python3
"""One version, one license and one repository in every package manifest (`make versions-check`).

The workspace `Cargo.toml` is the source: `[workspace.package]` version, license and
repository. Every language's manifest must say the same, and the LICENSE file must be the
license it names. Prints each disagreement as `file: field is X, the workspace says Y`.
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def field(text: str, pattern: str, path: str) -> str:
    found = re.search(pattern, text, re.M)
    if not found:
        raise SystemExit(f"{path}: no match for {pattern!r}")
    return found.group(1)


def main() -> int:
    cargo = (ROOT / "Cargo.toml").read_text()
    want = {
        "version": field(cargo, r'^version = "([^"]+)"', "Cargo.toml"),
        "license": field(cargo, r'^license = "([^"]+)"', "Cargo.toml"),
        "repository": field(cargo, r'^repository = "([^"]+)"', "Cargo.toml"),
    }
    pyproject = (ROOT / "py/pyproject.toml").read_text()
    package = json.loads((ROOT / "node/package.json").read_text())
    composer = json.loads((ROOT / "php/composer.json").read_text())
    gemspec = (ROOT / "ruby/hms_ffi.gemspec").read_text()
    pom = (ROOT / "kotlin/pom.xml").read_text()
    found = [
        ("py/pyproject.toml", "version", field(pyproject, r'^version = "([^"]+)"', "py")),
        ("py/pyproject.toml", "license", field(pyproject, r'^license = \{ text = "([^"]+)" \}', "py")),
        ("node/package.json", "version", package.get("version")),
        ("node/package.json", "license", package.get("license")),
        ("node/package.json", "repository", (package.get("repository") or {}).get("url", "").removeprefix("git+").removesuffix(".git")),
        ("php/composer.json", "license", composer.get("license")),
        ("ruby/lib/hms_ffi/version.rb", "version",
         field((ROOT / "ruby/lib/hms_ffi/version.rb").read_text(), r'VERSION = "([^"]+)"', "ruby")),
        ("ruby/hms_ffi.gemspec", "license", field(gemspec, r'spec\.license = "([^"]+)"', "gemspec")),
        ("ruby/hms_ffi.gemspec", "repository", field(gemspec, r'spec\.homepage = "([^"]+)"', "gemspec")),
        ("kotlin/pom.xml", "version", field(pom, r"<artifactId>hms-ffi</artifactId>\s*<version>([^<]+)</version>", "pom")),
        ("kotlin/pom.xml", "license", field(pom, r"<licenses>\s*<license>\s*<name>([^<]+)</name>", "pom")),
        ("kotlin/pom.xml", "repository", field(pom, r"<url>(https://github\.com/[^<]+)</url>", "pom")),
    ]
    bad = [f"{path}: {name} is {value!r}, the workspace says {want[name]!r}"
           for path, name, value in found if value != want[name]]
    go_mod = (ROOT / "go/go.mod").read_text()
    module = field(go_mod, r"^module (\S+)", "go.mod")
    if module != want["repository"].removeprefix("https://") + "/go":
        bad.append(f"go/go.mod: module is {module!r}, the repository is {want['repository']!r}")
    license_text = (ROOT / "LICENSE").read_text() if (ROOT / "LICENSE").exists() else ""
    if want["license"] == "Apache-2.0" and "Apache License" not in license_text[:200]:
        bad.append("LICENSE: missing or not the Apache License 2.0 text")
    for line in bad:
        print(line, file=sys.stderr)
    if not bad:
        print(f"versions-check: {len(found) + 2} fields agree (version {want['version']}, {want['license']})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
