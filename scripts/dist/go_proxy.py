#!/usr/bin/env python3
"""Write a module proxy directory (the GOPROXY protocol over file://) serving one Go module.

    python3 scripts/dist/go_proxy.py MODULE_DIR MODULE_PATH VERSION PROXY_DIR

PROXY_DIR/MODULE_PATH/@v/ gets `list`, `VERSION.info`, `VERSION.mod` and `VERSION.zip` (every
regular file of MODULE_DIR under `MODULE_PATH@VERSION/`, as `go mod download` expects), so
`GOPROXY=file://PROXY_DIR,… go get MODULE_PATH@VERSION` installs it as it would from a release
tag. The go command checks the zip's rules (no symlinks, no nested modules, at most 500 MB).
"""
import json
import sys
import time
import zipfile
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    src, module, version, proxy = Path(argv[1]), argv[2], argv[3], Path(argv[4])
    at = proxy / module / "@v"
    at.mkdir(parents=True, exist_ok=True)
    (at / "list").write_text(version + "\n")
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    (at / f"{version}.info").write_text(json.dumps({"Version": version, "Time": stamp}) + "\n")
    (at / f"{version}.mod").write_bytes((src / "go.mod").read_bytes())
    files = sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink())
    nested = [p for p in files if p.name == "go.mod" and p.parent != src]
    if nested:
        raise SystemExit(f"nested modules would be left out of the zip: {nested}")
    with zipfile.ZipFile(at / f"{version}.zip", "w", zipfile.ZIP_DEFLATED) as z:
        for p in files:
            z.write(p, f"{module}@{version}/{p.relative_to(src).as_posix()}")
    print(f"{at / (version + '.zip')}: {len(files)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
