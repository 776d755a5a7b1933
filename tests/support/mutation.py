"""Mutation testing of the core with mutmut (`make mutate`, docs/contributing.md): which mutants to run,
and the score per module.

mutmut writes each mutated file's results beside it in ``mutants/`` (``<file>.meta``: exit code per
mutant; 1 killed, 0 survived, 33 no test reaches it, 36 timed out...). This module reads them; it does
not run anything itself. Run as ``python -m tests.support.mutation``:

* ``names [PER_MODULE] [SEED]``: every mutant of the core modules, or a fixed sample of ``PER_MODULE``
  per module drawn with ``SEED`` (the same mutants every time while the code is the same), one a line,
  to pass to ``mutmut run``;
* ``report``: the mutation score per module over the mutants that ran, then each surviving mutant
  (``mutmut show NAME`` prints its diff).
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
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
        mark = "" if score.score >= TARGET else f"  (below {TARGET:.0%})"
        lines.append(
            f"{score.module:34} {score.killed:7} {score.survived:9} {score.untested:8} {score.score:7.1%}{mark}"
        )
    lines += ["", f"surviving mutants ({len(survivors)}; `mutmut show NAME` for the diff):", *survivors]
    return "\n".join(lines)


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
    print("usage: python -m tests.support.mutation names [PER_MODULE] [SEED] | report [NAMES_FILE]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


__all__ = ["MODULES", "PER_MODULE", "SEED", "Score", "report", "results", "sample", "scores"]
