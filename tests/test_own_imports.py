"""druid-sim imports its own modules plainly (issue 23, item 3): no part of it is "not built yet".

A guard such as ``try: from druid_sim.scenario import ... except ModuleNotFoundError: <answer 501>`` turns a
broken install or a typo into a quiet partial answer. The only imports allowed to fail are those of the
recorder, which needs the optional ``record`` extra (mitmproxy), and the checks of uvicorn's insides.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "druid_sim"
#: Modules whose import may fail on a user's install: the recorder's, behind the ``record`` extra.
OPTIONAL = ("druid_sim.proxy",)
#: Imports by a name chosen at run time that are uvicorn's modules, not ours (the start-up checks).
UVICORN_CHECKS = {("server/express_check.py", "<IMPL_MODULE>"), ("faults/transport.py", "<name>")}


def _guarded_imports(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, exception caught, module imported) for each import inside a ``try`` that catches an ImportError."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = [ast.unparse(h.type) for h in node.handlers if h.type is not None]
        caught = [name for name in caught if "ImportError" in name or "ModuleNotFoundError" in name]
        if not caught:
            continue
        for inner in (n for statement in node.body for n in ast.walk(statement)):
            if isinstance(inner, ast.ImportFrom) and inner.module:
                found.append((inner.lineno, caught[0], inner.module))
            elif isinstance(inner, ast.Import):
                found += [(inner.lineno, caught[0], alias.name) for alias in inner.names]
            elif isinstance(inner, ast.Call) and ast.unparse(inner.func).endswith("import_module") and inner.args:
                target = inner.args[0]
                literal = isinstance(target, ast.Constant) and isinstance(target.value, str)
                found.append((inner.lineno, caught[0], target.value if literal else f"<{ast.unparse(target)}>"))
    return found


def test_no_module_of_druid_sim_is_imported_behind_an_import_error_guard() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, caught, module in _guarded_imports(ast.parse(path.read_text(), str(path))):
            own = module.startswith(("druid_sim", "<"))  # <name>: a module chosen at run time, maybe ours
            if (str(path.relative_to(PACKAGE)), module) in UVICORN_CHECKS:
                continue
            if own and not module.startswith(OPTIONAL):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {module} behind except {caught}")
    assert offenders == []


def test_the_check_finds_such_a_guard() -> None:
    guarded = "try:\n    from druid_sim.scenario import load_scenario\nexcept ModuleNotFoundError:\n    pass\n"
    dynamic = "try:\n    m = importlib.import_module(name)\nexcept ModuleNotFoundError:\n    pass\n"
    assert _guarded_imports(ast.parse(guarded)) == [(2, "ModuleNotFoundError", "druid_sim.scenario")]
    assert _guarded_imports(ast.parse(dynamic)) == [(2, "ModuleNotFoundError", "<name>")]
