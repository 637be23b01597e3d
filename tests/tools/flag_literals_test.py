#!/usr/bin/env python3
"""No string literal of a library folder names a command-line flag.

The libraries (every top-level folder but apps/, bench/, tests/, tools/,
examples/, fuzz/ and docs/) name the parameters of their calls, in a
ParameterError (runtime/error.h); apps/flag_errors.h turns a parameter into the
flag the user typed. So a C++ or CUDA string literal under a library folder
that holds "--" followed by a lower-case letter is a failure, printed as
file:line. Comments may name flags. The scan is a small C++ lexer: //
and /* */ comments, "..." with escapes, raw strings R"d(...)d", character
literals, and digit separators (0x7465'6d70) that are not character literals.

Usage: flag_literals_test.py [REPO_ROOT]. Exit 1 with one line per failure.
"""
import pathlib
import re
import subprocess
import sys

NOT_LIBRARIES = {"apps", "bench", "tests", "tools", "examples", "fuzz", "docs"}
SOURCES = {".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh"}
FLAG = re.compile(r"--[a-z]")


def string_literals(text):
    """Yields (line, contents) of every string literal in C++ source `text`."""
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            i = end
        elif c == '"':
            start_line, j = line, i + 1
            raw = re.search(r"(?:^|[^A-Za-z0-9_])(?:u8|u|U|L)?R$", text[max(0, i - 3):i])
            if raw:  # R"delim( ... )delim"
                open_paren = text.find("(", j)
                close = text.find(")" + text[j:open_paren] + '"', open_paren)
                close = n if close < 0 else close
                body, i = text[open_paren + 1:close], close + len(text[j:open_paren]) + 2
            else:
                while j < n and text[j] != '"' and text[j] != "\n":
                    j += 2 if text[j] == "\\" else 1
                body, i = text[i + 1:j], j + 1
            line += body.count("\n")
            yield start_line, body
        elif c == "'":
            k = i
            while k > 0 and (text[k - 1].isalnum() or text[k - 1] in "_'"):
                k -= 1
            if k < i and text[k].isdigit():  # a digit separator: 1'000, 0x7465'6d70
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != "'" and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        else:
            i += 1


def library_sources(root):
    try:
        names = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True,
                               text=True, check=True).stdout.split("\n")
        paths = [root / name for name in names if name]
    except (OSError, subprocess.CalledProcessError):
        paths = [p for p in root.rglob("*") if not p.relative_to(root).parts[0].startswith("build")]
    for path in sorted(paths):
        parts = path.relative_to(root).parts
        if len(parts) < 2 or parts[0] in NOT_LIBRARIES or parts[0].startswith((".", "build")):
            continue
        if path.suffix in SOURCES and path.is_file():
            yield path


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    failures, files, literals = [], 0, 0
    for path in library_sources(root):
        files += 1
        text = path.read_text(encoding="utf-8", errors="replace")
        for line, body in string_literals(text):
            literals += 1
            for match in FLAG.finditer(body):
                flag = re.match(r"--[a-z][a-z0-9-]*", body[match.start():]).group(0)
                failures.append(
                    f"{path.relative_to(root)}:{line + body.count(chr(10), 0, match.start())}: "
                    f"a string literal names the flag {flag}: a library names its parameter "
                    f"(fail_parameter, runtime/error.h) and apps/flag_errors.h names the flag")
    if files == 0 or literals == 0:
        failures.append(f"{root}: no string literal found in a library folder: wrong root?")
    for f in failures:
        print(f)
    if not failures:
        print(f"{literals} string literals in {files} library files name no flag")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
