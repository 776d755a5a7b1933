"""The sampled mutation run of `make test` (issue 23): a fixed sample of mutants of the core, drawn with a
fixed seed from those `make mutate` saw killed (tests/mutation_sample.json), must stay killed.

Each mutant is written into a copy of ``druid_sim/`` and the one test that killed it runs against the copy
in a fresh interpreter (tests/support/mutation.py). A mutant that survives means a test lost the assertion
that noticed it: restore the assertion, or, if the change was meant, re-pick the sample
(``python -m tests.support.mutation pick COUNT SEED`` after ``make mutate``; docs/contributing.md).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.mutation import MODULES, Mutant, copy_package, load_sample, run_tests, survivors

SAMPLE = load_sample()


def test_the_sample_is_fixed_and_spread_over_the_core() -> None:
    assert len(SAMPLE) >= 8
    assert len({mutant.name for mutant in SAMPLE}) == len(SAMPLE)
    assert len({next(m for p, m in MODULES.items() if mutant.name.startswith(p)) for mutant in SAMPLE}) >= 5


def test_every_sampled_mutant_is_still_killed_by_its_test(tmp_path: Path) -> None:
    package = copy_package(tmp_path)
    assert run_tests(package, sorted({mutant.test for mutant in SAMPLE})) == (0, "")  # they pass unmutated
    assert survivors(SAMPLE, package) == []


def test_a_mutant_its_test_does_not_notice_is_reported(tmp_path: Path) -> None:
    """The check can fail: a "mutation" that changes nothing survives its test, and code that moved on is
    reported rather than skipped."""
    first = SAMPLE[0]
    unchanged = Mutant(first.name, first.file, first.before, first.before, first.test)
    moved = Mutant("moved", first.file, "this text is in no module\n", "x\n", first.test)
    found = survivors([unchanged, moved], copy_package(tmp_path))
    assert [line.split(" ", 1)[0] for line in found] == [f"{first.name}", "moved:"]
    assert "survives" in found[0] and "re-pick the sample" in found[1]
