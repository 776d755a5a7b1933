"""Who is looking at the dashboard, and what of the cluster that Druid user may read.

The dashboard reads the control API (``/__sim/cluster``, ``/__sim/journal``), which answers an
operator and shows everything. On a secured cluster, though, the page is used by a signed-in Druid
user, and it must show that user no more than Druid would: the page sends the user's Basic
credentials (or nothing, when nobody is signed in) in ``X-Druid-Sim-Viewer`` on those calls, and the
answers are then cut to what the user may read, by the rule Druid's task lists follow
(``AuthorizationUtils.filterAuthorizedResources``: READ on the task's datasource, ``docs/security.md``
4.2): running task ids of unreadable datasources are left out of the Cluster view, and the Traffic
view shows only the user's own requests (Druid has no call that shows one user another's requests).
A call without the header (curl, the CLI, a test) is an operator's and sees everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from druid_sim.runtime import Simulation
from druid_sim.security.middleware import EXTENSION, SecurityState, authenticate
from druid_sim.security.model import DATASOURCE, READ, User

#: The control-API request header the dashboard names its signed-in Druid user with (``Basic ...``, or empty).
VIEWER_HEADER = "x-druid-sim-viewer"


@dataclass(frozen=True, slots=True)
class Viewer:
    """A Druid user looking at the dashboard; ``user`` None when nobody (or nobody valid) signed in."""

    user: User | None

    def may_read(self, datasource: str) -> bool:
        """READ on the datasource, as Druid filters a task list (nobody signed in reads nothing)."""
        return self.user is not None and self.user.may(DATASOURCE, datasource, READ)

    def made(self, user: str | None) -> bool:
        """Whether a journaled request was the viewer's own."""
        return self.user is not None and user == self.user.name


def viewer_of(simulation: Simulation, headers: Mapping[str, str]) -> Viewer | None:
    """The viewer a control call names, or None (security off, or no viewer named): show everything."""
    state: SecurityState | None = simulation.extensions.get(EXTENSION)
    if state is None or state.security is None or VIEWER_HEADER not in headers:
        return None
    found = authenticate(state.security, headers[VIEWER_HEADER] or None, "/", None, "")
    return Viewer(found if isinstance(found, User) else None)
