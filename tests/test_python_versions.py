"""The Python versions druid-sim declares are the ones it is tested on (issue 23, item 6).

CI runs one leg, on the interpreter `make test` finds (3.11); ``requires-python`` and the classifiers must
not promise more. Adding a version means adding its CI leg first, then widening both here.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.specifiers import SpecifierSet

PROJECT = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
TESTED = ("3.11",)


def test_requires_python_admits_the_tested_versions_and_no_other() -> None:
    admitted = SpecifierSet(PROJECT["requires-python"])
    assert all(f"{version}.0" in admitted for version in TESTED)
    assert [v for v in ("3.10", "3.12", "3.13", "3.14") if f"{v}.0" in admitted] == []
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in TESTED  # this run is on a tested version


def test_the_classifiers_name_only_the_tested_versions() -> None:
    named = {
        c.rsplit(" :: ", 1)[1] for c in PROJECT["classifiers"] if c.startswith("Programming Language :: Python :: 3.")
    }
    assert named == set(TESTED)
