#!/usr/bin/env python3
"""Every #include follows the layer table of docs/design.md.

The table ("## Layers and folders") names each folder and what it "may use".
A folder whose cell names other folders may include only its own headers and
theirs (runtime/: "the CUDA runtime", i.e. no other folder of ours); one whose
cell says "everything", "the libraries" or "the binaries" is not restricted.
Every quoted #include of a restricted folder's C++ and CUDA files is resolved
(a path from the repository root, else one relative to the including file) to
the folder it lands in; one that points up or sideways, e.g. data/ including
model/, is a failure, printed as file:line.

Usage: include_layers_test.py [REPO_ROOT]. Exit 1 with one line per failure.
"""
import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
design = root / "docs" / "design.md"
UNRESTRICTED = ("everything", "the libraries", "the binaries")
SOURCES = {".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh"}


def read_table():
    """{folder: set of allowed folders, or None when unrestricted}, with the line of each row."""
    lines = design.read_text(encoding="utf-8").splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("## Layers and folders"))
    rows = {}
    for number, line in enumerate(lines[start + 1:], start + 2):
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) != 3 or cells[0] in ("folder", "---"):
            continue
        for folder in re.findall(r"([a-z_]+)/", cells[0]):
            rows[folder] = (cells[2], number)
    table = {}
    for folder, (may_use, number) in rows.items():
        if any(word in may_use for word in UNRESTRICTED):
            table[folder] = None
            continue
        items = [item.strip() for item in may_use.split(",")]
        # Items that are not folders of ours ("the CUDA runtime", "-") are outside the repository.
        table[folder] = {item for item in items if item in rows} | {folder}
    return table


def target_folder(include, source, folders):
    first = include.split("/", 1)[0]
    if "/" in include and first in folders:
        return first
    resolved = (source.parent / include).resolve()
    try:
        relative = resolved.relative_to(root)
    except ValueError:
        return None  # outside the repository
    if not resolved.exists():
        return None  # not ours (a system or toolkit header in quotes)
    return relative.parts[0] if len(relative.parts) > 1 else None


def main():
    try:
        table = read_table()
    except (OSError, StopIteration) as e:
        print(f"{design}: cannot read the layer table: {e!r}")
        return 1
    restricted = {f: allowed for f, allowed in table.items() if allowed is not None}
    if len(restricted) < 3 or "runtime" not in restricted:
        print(f"{design}: expected a layer table with runtime/ and other restricted folders, "
              f"found {sorted(restricted)}")
        return 1
    failures, checked = [], 0
    include = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
    for folder, allowed in sorted(restricted.items()):
        base = root / folder
        if not base.is_dir():
            continue
        for source in sorted(base.rglob("*")):
            if source.suffix not in SOURCES or not source.is_file():
                continue
            text = source.read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), 1):
                match = include.match(line)
                if not match:
                    continue
                checked += 1
                target = target_folder(match.group(1), source, table)
                if target is None or target in allowed:
                    continue
                failures.append(
                    f"{source.relative_to(root)}:{number}: #include \"{match.group(1)}\": "
                    f"{folder}/ may use {', '.join(sorted(allowed - {folder})) or 'no other folder'}"
                    f" (docs/design.md), not {target}/")
    if checked == 0:
        failures.append(f"{root}: no #include found in {sorted(restricted)}: wrong root?")
    for f in failures:
        print(f)
    if not failures:
        print(f"{checked} includes in {len(restricted)} folders follow docs/design.md's table")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
