"""Authorization as the Druid handlers and resource filters do it, for the user a request was made as.

The security layer puts the authenticated :class:`~druid_sim.security.model.User` in the request's
scope under :data:`IDENTITY`. Without one (security off, or an unsecured path) everything is allowed,
as with Druid's default allow-all authorizer. Each check names the Druid class it follows;
``docs/security.md`` section 4.3 has the whole table.
"""

from __future__ import annotations

from collections.abc import Iterable

from druid_sim.asgi import Scope
from druid_sim.runtime import ANSWERED_BY
from druid_sim.security.answers import forbidden, forbidden_text
from druid_sim.security.model import DATASOURCE, READ, STATE, WRITE, User
from druid_sim.wire import DruidResponse

#: ASGI scope key: the authenticated user, set by the security layer.
IDENTITY = "druid_sim.identity"
#: What the journal's ``answeredBy`` says for a request security answered: a 401 or a denial's 403.
ANSWERER = "security"


def denied(scope: Scope, answer: DruidResponse | None = None) -> DruidResponse:
    """A denial's 403 (``forbidden()`` unless given), journaled as answered by security, not by the model.

    Why: whoever reads the journal (a test, the dashboard's Traffic view) wants to tell the answers
    the permissions decided from the model's own; the bytes are Druid's either way.
    """
    scope[ANSWERED_BY] = ANSWERER
    return forbidden() if answer is None else answer


def denied_text(scope: Scope) -> DruidResponse:
    """``GET /tasks?datasource=``'s text 403 (docs/security.md 4.2), journaled as answered by security."""
    return denied(scope, forbidden_text())


def user_of(scope: Scope) -> User | None:
    user: User | None = scope.get(IDENTITY)
    return user


def permitted(scope: Scope, resource_type: str, name: str, action: str) -> bool:
    """Whether the request's user may ``action`` the resource (always, without a user)."""
    user = user_of(scope)
    return user is None or user.may(resource_type, name, action)


def filter_action(method: str) -> str:
    """``AbstractResourceFilter.getAction``: READ for GET and HEAD, WRITE for every other method."""
    return READ if method in ("GET", "HEAD") else WRITE


def state_filter(scope: Scope, method: str) -> DruidResponse | None:
    """``StateResourceFilter``: the 403 when the user may not act on the resource ``STATE`` of type STATE."""
    return None if permitted(scope, STATE, "STATE", filter_action(method)) else denied(scope)


def datasource_filter(scope: Scope, method: str, datasource: str) -> DruidResponse | None:
    """``DatasourceResourceFilter`` and ``TaskResourceFilter``: the 403 for a datasource the user may not act on."""
    return None if permitted(scope, DATASOURCE, datasource, filter_action(method)) else denied(scope)


def require(scope: Scope, datasource: str, *actions: str) -> DruidResponse | None:
    """A handler's own check (``AuthorizationUtils.authorizeAllResourceActions``): 403 unless every action is allowed."""
    if all(permitted(scope, DATASOURCE, datasource, action) for action in actions):
        return None
    return denied(scope)


def unreadable(scope: Scope, datasources: Iterable[str]) -> frozenset[str]:
    """The datasources among ``datasources`` whose tasks the user may not READ (``filterAuthorizedResources``)."""
    user = user_of(scope)
    if user is None:
        return frozenset()
    return frozenset(name for name in datasources if not user.may(DATASOURCE, name, READ))
