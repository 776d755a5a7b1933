"""Reading a class's code without running it: which attributes its methods set.

The express lane's and the connection faults' start-up checks (``druid_sim.server.express_check``,
``druid_sim.faults.transport``) lean on uvicorn's insides; they ask this, which instantiates nothing and
opens no socket, whether those insides are still where they were.
"""

from __future__ import annotations

import dis
import inspect


def stored_attributes(cls: type) -> set[str]:
    """Names ``cls`` and its bases assign as attributes in their methods (``self.x = ...``)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass.__module__ in ("builtins", "asyncio.protocols"):
            continue  # object and asyncio.Protocol set nothing
        for member in vars(klass).values():
            function = getattr(member, "__func__", member)
            if inspect.isfunction(function):
                names.update(i.argval for i in dis.get_instructions(function) if i.opname == "STORE_ATTR")
    return names
