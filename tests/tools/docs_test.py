#!/usr/bin/env python3
"""The README stays a user's guide and the product never points outside the repository.

- README.md has at most 250 lines (later features add sections to docs/);
- no tracked file but tests/ names the workplace's ../shared folder;
- every repository path the README names in backquotes exists.
Exit 1 with one line per failure.
"""
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
failures = []
readme = (root / "README.md").read_text(encoding="utf-8")
lines = readme.count("\n")
if lines > 250:
    failures.append(f"README.md: expected at most 250 lines, found {lines}")
tracked = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True,
                         check=True).stdout.split()
for name in tracked:
    if name.startswith("tests/") or name.startswith("build"):
        continue
    path = root / name
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        continue
    if "../shared" in text:
        failures.append(f"{name}: names ../shared, which only the workplace has")
for match in re.finditer(r"`((?:docs|bench|tools|parallel|runtime|kernels|data|io|model|checkpoint|apps|examples|fuzz)/[A-Za-z0-9_./-]+)`", readme):
    if not (root / match.group(1)).exists():
        failures.append(f"README.md: names `{match.group(1)}`, which does not exist")
for f in failures:
    print(f)
sys.exit(1 if failures else 0)
