#!/usr/bin/env python3
"""The guide's CI snippets (ctest: docs.ci_snippets).

Parses ci/github-actions.yml and ci/gitlab-ci.yml (with PyYAML when python3-yaml is installed,
else with a structural reading of their literal blocks), checks their shape and that they
install only packages scripts/setup.sh knows, then runs each one's watchdog step exactly as
written, in a scratch directory where ./build/app_tests is
  - the forced seed race:    the step must exit 3 and leave deadlock.{dot,json,svg,trace,html}, junit.xml
  - a program that passes:   0
  - a program that fails:    its own status, 1

  ci_snippets.py TOOLS_DIR EXAMPLES_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
try:
    import yaml
except ImportError:
    yaml = None


def literal_blocks(text):
    """The literal block scalars (`key: |` or `- |`) of a YAML file, each with its key."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(?:- |([\w-]+): )\|\s*$", line)
        if not m:
            continue
        body = []
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= len(m.group(1)):
                break
            body.append(nxt)
        indent = min(len(l) - len(l.lstrip()) for l in body if l.strip())
        out.append((m.group(2) or "-", "\n".join(l[indent:] for l in body).rstrip("\n") + "\n"))
    return out


def watchdog_step(path):
    text = path.read_text()
    blocks = [b for key, b in literal_blocks(text) if "ceramic-run" in b]
    assert len(blocks) == 1, f"{path.name}: expected one block that runs ceramic-run"
    step = blocks[0]
    if yaml is None:
        assert re.search(r"^\S", text, re.M), f"{path.name}: no top-level key"
        return step
    doc = yaml.safe_load(text)
    if path.name == "github-actions.yml":
        steps = doc["jobs"]["tests"]["steps"]
        runs = [s["run"] for s in steps if "ceramic-run" in s.get("run", "")]
        upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
        assert upload and upload[0]["if"] == "failure()", "the report is kept when the job fails"
        assert doc["jobs"]["tests"]["container"] == "debian:12"
    else:
        job = doc["tests"]
        runs = [s for s in job["script"] if "ceramic-run" in s]
        assert job["artifacts"]["when"] == "always" and job["image"] == "debian:12"
        assert job["artifacts"]["reports"]["junit"] == "junit.xml", "GitLab reads the JUnit file"
    assert runs == [step], f"{path.name}: the YAML parser and the block reader disagree"
    return step


def packages(path):
    found = re.findall(r"apt-get install -y -qq ([^\n]+)", path.read_text())
    assert found, f"{path.name}: no apt-get install line"
    return found[0].split()


def run_step(name, step, program, tools, want, expect_files):
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "build").mkdir()
        os.symlink(program, work / "build" / "app_tests")
        env = dict(os.environ, PATH=f"{tools}:{os.environ['PATH']}")
        p = subprocess.run(["bash", "-eo", "pipefail", "-c", step], cwd=work, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=40)
        if p.returncode != want:
            print(p.stdout)
            raise AssertionError(f"{name} with {program}: exit status {p.returncode}, not {want}")
        for f in expect_files:
            assert (work / f).stat().st_size > 0, f"{name}: {f} is missing"
        if want == 3:
            assert "DEADLOCK" in p.stdout and "seed_race_forced.cpp" in p.stdout, p.stdout


def main():
    tools, examples = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    known = set(re.search(r"packages=\(([^)]*)\)", (ROOT / "scripts" / "setup.sh").read_text())
                .group(1).split())
    for f in ("github-actions.yml", "gitlab-ci.yml"):
        path = HERE / "ci" / f
        unknown = set(packages(path)) - known - {"git"}
        assert not unknown, f"{f} installs packages scripts/setup.sh does not: {unknown}"
        step = watchdog_step(path)
        run_step(f, step, examples / "seed_race_forced", tools, 3,
                 ["deadlock.dot", "deadlock.json", "deadlock.svg", "deadlock.trace", "deadlock.html",
                  "junit.xml"])
        run_step(f, step, examples / "hello", tools, 0, ["junit.xml"])
        run_step(f, step, shutil.which("false"), tools, 1, ["junit.xml"])
    print("docs.ci_snippets: both CI snippets parse"
          + (" (PyYAML)" if yaml else " (structure only: python3-yaml is not installed)")
          + "; their watchdog step exits 3 on a deadlock, else with the program's status")


if __name__ == "__main__":
    main()
