"""The sampled mutation run of `make test` (issue 23): a fixed sample of mutants of the core, drawn with a
fixed seed from those `make mutate` saw killed (tests/mutation_sample.json), must stay killed.

Each mutant is written into a copy of ``druid_sim/`` and the one test that killed it runs against the copy
in a fresh interpreter (tests/support/mutation.py). A mutant that survives means a test lost the assertion
that noticed it: restore the assertion, or, if the change was meant, re-pick the sample
(``python -m tests.support.mutation pick COUNT SEED`` after ``make mutate``; docs/contributing.md).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.mutation import MODULES, Mutant, copy_package, load_sample, run_tests, scores, survivors

SAMPLE = load_sample()


def test_the_sample_is_fixed_and_spread_over_the_core() -> None:
    assert len(SAMPLE) >= 8
    assert len({mutant.name for mutant in SAMPLE}) == len(SAMPLE)
    modules = {next(m for p, m in MODULES.items() if mutant.name.startswith(p)) for mutant in SAMPLE}
    assert modules == set(MODULES.values())  # every core module


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


def test_a_method_mutmut_shows_at_the_margin_applies_at_its_own_indentation() -> None:
    """``mutmut show`` prints a method dedented, but not the lines a docstring continues on."""
    source = 'class A:\n    def f(self) -> str:\n        """One line,\n        and another."""\n        return "a"\n'
    shown = 'def f(self) -> str:\n    """One line,\n        and another."""\n    return "a"\n'
    mutant = Mutant("m", "a.py", shown, shown.replace('"a"', '"XXaXX"'), "")
    assert mutant.apply(source) == source.replace('"a"', '"XXaXX"')
    assert mutant.apply(source + source.replace("class A", "class B")) is None  # found twice: not applied


def test_the_score_counts_unreached_mutants_as_survivors_and_skips_those_not_run() -> None:
    spec, ids = "druid_sim.faults.spec.x_parse__mutmut_", "druid_sim.overlord.ids.x_new_task_id__mutmut_"
    ran = [(f"{spec}1", 1), (f"{spec}2", 0), (f"{spec}3", 33), (f"{spec}4", None), (f"{ids}1", 36), (f"{ids}2", 37)]
    table, survivors_found = scores(ran)
    assert (table["druid_sim/faults/spec.py"].killed, table["druid_sim/faults/spec.py"].survived) == (1, 1)
    assert table["druid_sim/faults/spec.py"].untested == 1
    assert table["druid_sim/faults/spec.py"].score == 1 / 3
    assert (table["druid_sim/overlord/"].killed, table["druid_sim/overlord/"].score) == (2, 1.0)  # timeout, mypy
    assert survivors_found == [f"{spec}2", f"{spec}3"]
