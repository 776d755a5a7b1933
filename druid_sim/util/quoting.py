"""Quoting a file's values in error messages, except where the reader may not be the file's owner.

A message about a scenario or cassette quotes what is wrong ("not a duration: 'soon'"): that is what a
person fixing their own file needs, and ``druid-sim scenario validate`` or ``serve --scenario`` show it.
The control API, though, can be asked to load a file by anyone who can reach it (any local user on
loopback), so its answers must never repeat what a file says: it loads under :func:`hidden`, where
:func:`shown` gives a placeholder instead of the value and :func:`shown_name` one instead of a key.
A context variable, so a load in a worker thread started with the context copied stays hidden.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_QUOTING: ContextVar[bool] = ContextVar("druid_sim_quoting", default=True)

#: What a hidden value reads as.
HIDDEN = "(value not shown)"


def quoting() -> bool:
    """True unless inside :func:`hidden`."""
    return _QUOTING.get()


def shown(value: Any) -> str:
    """``repr(value)``, or `HIDDEN` inside :func:`hidden`."""
    return repr(value) if _QUOTING.get() else HIDDEN


def shown_name(key: Any) -> str:
    """A key written in a file, as a field name: itself, or ``(name not shown)`` inside :func:`hidden`."""
    return str(key) if _QUOTING.get() else "(name not shown)"


@contextmanager
def hidden() -> Iterator[None]:
    """Errors raised inside never quote what a file says."""
    token = _QUOTING.set(False)
    try:
        yield
    finally:
        _QUOTING.reset(token)
