#!/usr/bin/env python3
"""Keeps the code in ceramic's docs compiled and run.

Every code block of the docs that shows code is a copy of a region of a file under
docs/examples/, which CMake builds and ctest runs (label docs). In the markdown, the line
before the block names its source:

    <!-- example: docs/examples/hello.cpp#readme -->
    ```cpp
    ...
    ```

and the source marks the region with comments (C++: //, shell, YAML and Python: #):

    // [doc:readme]
    ...
    // [/doc:readme]

A region may be opened and closed several times: its pieces are joined, each one dedented, so
a block can show an #include and the body of main() without the lines in between. Marker lines
of other regions inside a region are left out. Without "#region" the block is the whole file
(marker lines left out). Output files (docs/examples/expected/*) are whole files.

  doc_examples.py --check    fails when a block differs from its region, a marker names a
                             missing file or region, a file is not one ctest runs, or a
                             block that must be marked is not: every ```cpp block in README.md
                             and docs/**/*.md, and every block but ```text in docs/guide/
  doc_examples.py --update   rewrites the marked blocks from their sources
  doc_examples.py --run EXPECTED -- PROGRAM ARGS...
                             runs PROGRAM, fails unless it exits 0 and its output matches
                             EXPECTED (after normalize(): pids, durations, channel ids)
  doc_examples.py --same EXPECTED ACTUAL
                             compares a file with the output the docs show, the same way
With DOC_EXAMPLES_ACCEPT=1 in the environment, --run and --same write the actual output into
EXPECTED instead of comparing (then run --update to refresh the markdown).
"""
import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
MARKER = re.compile(r"^\s*<!--\s*example:\s*(\S+?)(?:#([\w.-]+))?\s*-->\s*$")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
REGION = re.compile(r"^\s*(?://|#)\s*\[(/?)doc:([\w.-]+)\]\s*$")
STRICT_EVERYWHERE = {"cpp", "c++", "cxx"}
UNCHECKED_IN_GUIDE = {"text"}


def markdown_files():
    files = [ROOT / "README.md"]
    files += sorted((ROOT / "docs").rglob("*.md"))
    return [f for f in files if f.is_file()]


def dedent(lines):
    indents = [len(l) - len(l.lstrip(" ")) for l in lines if l.strip()]
    cut = min(indents, default=0)
    return [l[cut:] if l.strip() else "" for l in lines]


def region(path, name):
    """The text of region `name` of `path` (the whole file if name is None), or raises."""
    lines = path.read_text().splitlines()
    if name is None:
        return "\n".join(l for l in lines if not REGION.match(l)) + "\n"
    pieces, current, seen = [], None, False
    for number, line in enumerate(lines, 1):
        m = REGION.match(line)
        if m:
            closing, which = m.group(1) == "/", m.group(2)
            if which != name:
                continue
            if not closing and current is None:
                current, seen = [], True
            elif closing and current is not None:
                pieces.append(dedent(current))
                current = None
            else:
                raise ValueError(f"{path.relative_to(ROOT)}:{number}: unbalanced [doc:{name}]")
            continue
        if current is not None:
            current.append(line)
    if current is not None:
        raise ValueError(f"{path.relative_to(ROOT)}: [doc:{name}] is never closed")
    if not seen:
        raise ValueError(f"{path.relative_to(ROOT)} has no region [doc:{name}]")
    return "\n".join(l for piece in pieces for l in piece) + "\n"


def run_by_tests(path):
    """Is this example file built or run by docs/examples/CMakeLists.txt (directly, or by a
    script or program it runs)?"""
    users = [EXAMPLES / "CMakeLists.txt"]
    users += [p for p in EXAMPLES.rglob("*") if p.suffix in (".sh", ".py", ".cpp") and p != path]
    for user in users:
        text = user.read_text()
        if user.name == "CMakeLists.txt":
            if re.search(r"\b" + re.escape(path.stem) + r"\b", text):
                return True
        elif path.name in text:
            return True
    return False


def blocks(md):
    """Yields (marker or None, fence line index, end line index, indent, language)."""
    lines = md.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2).lower()
        j = i + 1
        while j < len(lines) and not (lines[j].strip() == "```" and
                                      lines[j].startswith(indent)):
            j += 1
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        marker = MARKER.match(lines[k]) if k >= 0 else None
        yield marker, i, j, indent, lang
        i = j + 1


def must_be_marked(md, lang):
    if lang in STRICT_EVERYWHERE:
        return True
    in_guide = (ROOT / "docs" / "guide") in md.parents
    return in_guide and lang not in UNCHECKED_IN_GUIDE


def sync(update):
    errors, rewritten = [], []
    for md in markdown_files():
        lines = md.read_text().splitlines()
        out, last = [], 0
        for marker, start, end, indent, lang in blocks(md):
            where = f"{md.relative_to(ROOT)}:{start + 1}"
            if marker is None:
                if must_be_marked(md, lang):
                    errors.append(f"{where}: a ```{lang} block without an <!-- example: --> "
                                  f"marker: its code is not compiled and run by any test")
                continue
            rel, name = marker.group(1), marker.group(2)
            path = (ROOT / rel).resolve()
            if EXAMPLES not in path.parents:
                errors.append(f"{where}: {rel} is not under docs/examples/")
                continue
            if not path.is_file():
                errors.append(f"{where}: {rel} does not exist")
                continue
            if not run_by_tests(path):
                errors.append(f"{where}: {rel} is not built or run by docs/examples/CMakeLists.txt")
            try:
                want = region(path, name)
            except ValueError as e:
                errors.append(f"{where}: {e}")
                continue
            have = "\n".join(l[len(indent):] if l.startswith(indent) else l.lstrip()
                             for l in lines[start + 1:end])
            have = have + "\n" if start + 1 < end else ""
            if have == want:
                continue
            if update:
                out += lines[last:start + 1]
                out += [(indent + l) if l else "" for l in want.rstrip("\n").split("\n")]
                last = end
                continue
            diff = "".join(difflib.unified_diff(
                want.splitlines(True), have.splitlines(True),
                f"{rel}#{name or ''} (compiled)", f"{md.relative_to(ROOT)} (shown)"))
            errors.append(f"{where}: differs from {rel}#{name or ''} "
                          f"(scripts/doc_examples.py --update rewrites it)\n{diff}")
        if update and last:
            out += lines[last:]
            md.write_text("\n".join(out) + "\n")
            rewritten.append(str(md.relative_to(ROOT)))
    return errors, rewritten


# --- output comparison -----------------------------------------------------------------------

NORMALIZE = [
    (re.compile(r"\(pid \d+\)"), "(pid N)"),
    (re.compile(r"\bpid \d+"), "pid N"),
    (re.compile(r"\bfor \d+ (?:ns|us|ms|s)\b"), "for T"),
    (re.compile(r"\bafter \d+(?:\.\d+)? s\b"), "after T s"),
    (re.compile(r"#[0-9a-f]{6}\b"), "#ID"),
    (re.compile(r"\bp\d+\b"), "pN"),                 # DOT process nodes
    (re.compile(r"\bc[0-9a-f]{8,}\b"), "cID"),       # DOT channel nodes
    (re.compile(r"\btrace of pid \d+"), "trace of pid N"),
    (re.compile(r"\(\d+ ms(?: total)?\)"), "(T)"),       # GoogleTest's timings
    (re.compile(r"\S*/(docs/examples/[\w.-]+)"), r"\1"),  # where the checkout is
]


def normalize(text):
    """Lines with what changes from run to run replaced, sorted: the order in which a report
    lists processes that exited at the same moment is not part of what the docs teach."""
    out = []
    for line in text.splitlines():
        for pattern, repl in NORMALIZE:
            line = pattern.sub(repl, line)
        out.append(line.rstrip())
    return sorted(out)


def same(expected_path, actual):
    expected_path = Path(expected_path)
    if os.environ.get("DOC_EXAMPLES_ACCEPT") == "1":
        expected_path.write_text(actual.replace(str(ROOT) + "/", ""))
        print(f"wrote {expected_path}")
        return True
    want = normalize(expected_path.read_text())
    have = normalize(actual)
    if want == have:
        return True
    print(f"the output differs from {expected_path} (normalized, sorted lines):")
    sys.stdout.writelines(difflib.unified_diff([l + "\n" for l in want], [l + "\n" for l in have],
                                               "shown in the docs", "this run"))
    print("--- this run's output:")
    print(actual)
    return False


def main(argv):
    if argv[:1] in (["--check"], ["--update"]):
        errors, rewritten = sync(update=argv[0] == "--update")
        for f in rewritten:
            print(f"rewrote {f}")
        for e in errors:
            print(e, file=sys.stderr)
        if errors:
            print(f"{len(errors)} problem(s) in the docs' code blocks", file=sys.stderr)
            return 1
        if argv[0] == "--check":
            print("every marked code block is an exact copy of a compiled, tested example")
        return 0
    if argv[:1] == ["--run"] and len(argv) >= 4 and argv[2] == "--":
        # Run as ./NAME from its directory: the output names the program as the docs show it.
        program = Path(argv[3])
        p = subprocess.run(["./" + program.name] + argv[4:], cwd=program.parent,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=50)
        if p.returncode != 0:
            print(p.stdout)
            print(f"{argv[3]} exited with {p.returncode}")
            return 1
        return 0 if same(argv[1], p.stdout) else 1
    if argv[:1] == ["--same"] and len(argv) == 3:
        return 0 if same(argv[1], Path(argv[2]).read_text()) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
