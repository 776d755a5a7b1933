"""Mutation testing of the core with mutmut (`make mutate`, docs/contributing.md): which mutants to run,
and the score per module.

mutmut writes each mutated file's results beside it in ``mutants/`` (``<file>.meta``: exit code per
mutant; 1 killed, 0 survived, 33 no test reaches it, 36 timed out...). This module reads them; it does
not run anything itself. Run as ``python -m tests.support.mutation``:

* ``names [PER_MODULE] [SEED]``: every mutant of the core modules, or a fixed sample of ``PER_MODULE``
  per module drawn with ``SEED`` (the same mutants every time while the code is the same), one a line,
  to pass to ``mutmut run``;
* ``report``: the mutation score per module over the mutants that ran, then each surviving mutant
  (``mutmut show NAME`` prints its diff);
* ``pick COUNT SEED``: draw ``COUNT`` killed mutants with ``SEED`` and write them, each with its diff and
  the test that kills it, to ``tests/mutation_sample.json``: the sampled run `make test` repeats
  (``tests/test_mutation_sample.py``). Run after ``make mutate``, when the code or tests moved on.

The sampled run needs no mutmut working copy: it copies ``druid_sim/`` once, writes each mutant's
change into the copy, and runs the one test that killed it against the copy, in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mutmut.stats import status_by_exit_code

#: The core modules: mutant name prefix -> the module as reported (a package counts as one module).
MODULES = {
    "druid_sim.overlord.": "druid_sim/overlord/",
    "druid_sim.replay.matchers.": "druid_sim/replay/matchers.py",
    "druid_sim.replay.normalize.": "druid_sim/replay/normalize.py",
    "druid_sim.faults.spec.": "druid_sim/faults/spec.py",
    "druid_sim.faults.state.": "druid_sim/faults/state.py",
    "druid_sim.cassette.redact.": "druid_sim/cassette/redact.py",
    "druid_sim.security.": "druid_sim/security/",
}
#: mutmut's verdicts (``mutmut.stats.status_by_exit_code``) a score counts as killed: a test failed, or
#: the tests ran out of time or crashed under the mutant. "survived" and "suspicious" count as survived.
CAUGHT = {"killed", "timeout", "caught by type check", "segfault"}
SURVIVED = {"survived", "suspicious"}
#: The score each module must reach (issue 23).
TARGET = 0.85
#: Sample size per module and seed of the run `make mutate` does by default (the whole set is ~11,000
#: mutants, hours on one core).
PER_MODULE = 40
SEED = 23


@dataclass
class Score:
    module: str
    killed: int = 0
    survived: int = 0
    untested: int = 0

    @property
    def ran(self) -> int:
        return self.killed + self.survived

    @property
    def score(self) -> float:
        """Killed over those that ran; a mutant no test reaches counts as survived (nothing would notice it)."""
        total = self.ran + self.untested
        return self.killed / total if total else 1.0


def module_of(name: str) -> str | None:
    return next((module for prefix, module in MODULES.items() if name.startswith(prefix)), None)


def results(root: Path = Path("mutants")) -> Iterator[tuple[str, int | None]]:
    """Every core mutant mutmut generated under ``root`` and its exit code (None: not run yet)."""
    for meta in sorted(root.glob("druid_sim/**/*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if module_of(name) is not None:
                yield name, code


def sample(names: list[str], per_module: int, seed: int) -> list[str]:
    """``per_module`` names of each module, drawn with ``seed`` from the sorted names (all when fewer)."""
    by_module: dict[str, list[str]] = {}
    for name in sorted(names):
        by_module.setdefault(module_of(name) or "", []).append(name)
    rng = random.Random(seed)
    chosen: list[str] = []
    for module in sorted(by_module):
        group = by_module[module]
        chosen += sorted(rng.sample(group, min(per_module, len(group))))
    return chosen


def scores(ran: list[tuple[str, int | None]]) -> tuple[dict[str, Score], list[str]]:
    """The score per module over mutants that ran, and the names of those that survived."""
    table = {module: Score(module) for module in MODULES.values()}
    survivors: list[str] = []
    for name, code in ran:
        score = table[module_of(name) or ""]
        status = status_by_exit_code[code]
        if status == "no tests":
            score.untested += 1
            survivors.append(name)
        elif status in CAUGHT:
            score.killed += 1
        elif status in SURVIVED:
            score.survived += 1
            survivors.append(name)
    return table, survivors


def report(root: Path = Path("mutants"), only: set[str] | None = None) -> str:
    ran = [(name, code) for name, code in results(root) if only is None or name in only]
    table, survivors = scores(ran)
    lines = [f"{'module':34} {'killed':>7} {'survived':>9} {'no test':>8} {'score':>7}"]
    for score in table.values():
        if score.ran + score.untested == 0:
            lines.append(f"{score.module:34} {0:7} {0:9} {0:8} {'-':>7}  (none ran)")
            continue
        mark = "" if score.score >= TARGET else f"  (below {TARGET:.0%})"
        lines.append(
            f"{score.module:34} {score.killed:7} {score.survived:9} {score.untested:8} {score.score:7.1%}{mark}"
        )
    lines += ["", f"surviving mutants ({len(survivors)}; `mutmut show NAME` for the diff):", *survivors]
    return "\n".join(lines)


REPO = Path(__file__).resolve().parents[2]
SAMPLE_FILE = REPO / "tests" / "mutation_sample.json"
_HUNK = re.compile(r"^@@ .* @@$")


@dataclass(frozen=True)
class Mutant:
    """One mutation, applied by text: ``before`` (lines of ``file``) becomes ``after``; ``test`` kills it."""

    name: str
    file: str
    before: str
    after: str
    test: str

    def apply(self, source: str) -> str | None:
        """``source`` with this mutation, or None when ``before`` is no longer there exactly once.

        ``mutmut show`` prints a method dedented to the left margin, except the lines a string literal
        continues on (a docstring's), so a method's code is found by its lines without their indentation,
        and each changed line keeps the indentation it has in ``source``.
        """
        if source.count(self.before) == 1:
            return source.replace(self.before, self.after, 1)
        lines, before, after = source.splitlines(keepends=True), self.before.splitlines(), self.after.splitlines()
        if len(before) != len(after) or not before:
            return None
        wanted = [line.strip() for line in before]
        found = [
            start
            for start in range(len(lines) - len(before) + 1)
            if [line.strip() for line in lines[start : start + len(before)]] == wanted
        ]
        if len(found) != 1:
            return None
        start = found[0]
        for offset, (old, new) in enumerate(zip(before, after, strict=True)):
            if old != new:
                line = lines[start + offset]
                margin = line[: len(line) - len(line.lstrip())]
                shown_margin = old[: len(old) - len(old.lstrip())]
                ending = line[len(line.rstrip("\r\n")) :]
                lines[start + offset] = margin + new.removeprefix(shown_margin) + ending
        return "".join(lines)


def diff_of(name: str) -> tuple[str, str, str]:
    """``mutmut show NAME``'s unified diff as (file, lines before, lines after)."""
    mutmut = str(Path(sys.executable).with_name("mutmut"))
    shown = subprocess.run([mutmut, "show", name], capture_output=True, text=True, check=True).stdout
    lines = shown.splitlines()
    file = next(line[4:].strip() for line in lines if line.startswith("+++ "))
    body = lines[next(i for i, line in enumerate(lines) if _HUNK.match(line)) + 1 :]
    before = [line[1:] for line in body if line[:1] in (" ", "-")]
    after = [line[1:] for line in body if line[:1] in (" ", "+")]
    return file, "\n".join(before) + "\n", "\n".join(after) + "\n"


def copy_package(into: Path) -> Path:
    """A copy of ``druid_sim/`` under ``into`` (links to the shipped data followed), to mutate freely."""
    shutil.copytree(REPO / "druid_sim", into / "druid_sim", ignore=shutil.ignore_patterns("__pycache__"))
    return into


def run_tests(package_root: Path, tests: Sequence[str], timeout: float = 120) -> tuple[int, str]:
    """Run ``tests`` (node ids) with ``druid_sim`` imported from ``package_root``: pytest's exit code and
    the first failing node id ("" if none failed)."""
    code = f"import sys; sys.path.insert(0, {str(package_root)!r}); import pytest; sys.exit(pytest.main(sys.argv[1:]))"
    # Only the project's own plugin: loading every installed one (schemathesis, playwright...) triples the
    # start-up, which is most of the cost of a run of one test.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    plugins = ["-p", "druid_sim.pytest_plugin", "-p", "hypothesis.extra.pytestplugin", "-p", "no:cacheprovider"]
    argv = [sys.executable, "-c", code, "-x", "-q", *plugins, "-rf", *tests]
    try:
        done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "(timed out)"
    failed = re.search(r"^FAILED (\S+)", done.stdout, re.MULTILINE)
    return done.returncode, failed.group(1) if failed else ""


def survivors(mutants: Sequence[Mutant], package_root: Path) -> list[str]:
    """The mutants their test no longer kills (or that no longer apply), each with why."""
    found: list[str] = []
    for mutant in mutants:
        path = package_root / mutant.file
        original = path.read_text()
        mutated = mutant.apply(original)
        if mutated is None:
            found.append(f"{mutant.name}: its code changed ({mutant.file}); re-pick the sample")
            continue
        path.write_text(mutated)
        try:
            exit_code, _ = run_tests(package_root, [mutant.test])
        finally:
            path.write_text(original)
        if exit_code != 1:  # 1: a test failed, the mutant was killed
            found.append(f"{mutant.name} survives {mutant.test} (pytest exit {exit_code}); `mutmut show` for its diff")
    return found


def load_sample(path: Path = SAMPLE_FILE) -> list[Mutant]:
    return [Mutant(**entry) for entry in json.loads(path.read_text())["mutants"]]


def pick(count: int, seed: int, root: Path = Path("mutants")) -> list[Mutant]:
    """``count`` killed mutants drawn with ``seed``, spread over the modules, each with the test that kills
    it (found by running the tests that reach it against the mutant, in-process ones only)."""
    killed = [name for name, code in results(root) if status_by_exit_code[code] == "killed"]
    stats = json.loads((root / "mutmut-stats.json").read_text())
    reaching: dict[str, list[str]] = stats["tests_by_mangled_function_name"]
    rng = random.Random(seed)
    rng.shuffle(killed)
    chosen: list[Mutant] = []
    per_module: dict[str, int] = {}
    limit = max(1, count // len(MODULES) + 1)
    rejected: set[str] = set()
    with _temporary() as folder:
        package = copy_package(Path(folder))
        for cap in (1, limit):  # one per module first, so that every module is in the sample, then up to limit
            for name in killed:
                module = module_of(name) or ""
                taken = any(mutant.name == name for mutant in chosen)
                if len(chosen) == count or taken or name in rejected or per_module.get(module, 0) >= cap:
                    continue
                found = _killing_test(package, name, reaching)
                if found is None:
                    rejected.add(name)
                    continue
                chosen.append(found)
                per_module[module] = per_module.get(module, 0) + 1
    return chosen


def _killing_test(package: Path, name: str, reaching: dict[str, list[str]]) -> Mutant | None:
    """Mutant ``name`` with the first test that fails under it, or None when it no longer applies, no test
    reaches it, or its tests fail without it too (they could not tell)."""
    file, before, after = diff_of(name)
    tests = sorted(reaching.get(name.rsplit("__mutmut_", 1)[0], []))
    path = package / file
    original = path.read_text()
    mutated = Mutant(name, file, before, after, "").apply(original)
    if mutated is None or not tests or run_tests(package, tests)[0] != 0:
        return None
    path.write_text(mutated)
    try:
        exit_code, failed = run_tests(package, tests)
    finally:
        path.write_text(original)
    return Mutant(name, file, before, after, failed) if exit_code == 1 and failed else None


def _temporary() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="druid-sim-mutants-")


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "report"
    if command == "names":
        names = [name for name, _ in results()]
        per_module = int(argv[1]) if len(argv) > 1 else 0
        print("\n".join(sample(names, per_module, int(argv[2]) if len(argv) > 2 else SEED) if per_module else names))
        return 0
    if command == "report":
        only = set(Path(argv[1]).read_text().split()) if len(argv) > 1 else None
        print(report(only=only))
        return 0
    if command == "pick":
        count, seed = int(argv[1]), int(argv[2])
        chosen = pick(count, seed)
        body = {"seed": seed, "mutants": [vars(mutant) for mutant in chosen]}
        SAMPLE_FILE.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n")
        print(f"{len(chosen)} mutants written to {SAMPLE_FILE}")
        return 0
    print(
        "usage: python -m tests.support.mutation names [N] [SEED] | report [NAMES_FILE] | pick N SEED", file=sys.stderr
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


__all__ = [
    "MODULES",
    "PER_MODULE",
    "SEED",
    "Mutant",
    "Score",
    "load_sample",
    "report",
    "results",
    "sample",
    "scores",
    "survivors",
]
