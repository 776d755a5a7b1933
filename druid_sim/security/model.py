"""Druid's basic-security model: users with passwords and roles, roles with permissions.

It follows ``BasicRoleBasedAuthorizer`` (``extensions-core/druid-basic-security``): a request is
allowed when any permission of any of the user's roles has the same action, the same resource type
and a name pattern that matches the *whole* resource name. WRITE does not imply READ, and a user
without roles may do nothing. ``docs/security.md`` cites the source of every rule.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from druid_sim.util.regex import Regex

#: Druid's built-in resource types (``server/.../security/ResourceType.java``).
RESOURCE_TYPES = ("DATASOURCE", "VIEW", "CONFIG", "STATE", "SYSTEM_TABLE", "QUERY_CONTEXT", "EXTERNAL")
ACTIONS = ("READ", "WRITE")
DATASOURCE = "DATASOURCE"
STATE = "STATE"
READ = "READ"
WRITE = "WRITE"


@dataclass(frozen=True, slots=True)
class Permission:
    """``{"resource": {"name": REGEX, "type": TYPE}, "action": READ|WRITE}``, as Druid's role API takes it."""

    type: str
    name: Regex  # Druid matches it whole (Pattern.matches); RE2, so a match is linear
    action: str

    def allows(self, resource_type: str, name: str, action: str) -> bool:
        return self.action == action and self.type == resource_type and self.name.fullmatch(name) is not None

    def as_json(self) -> dict[str, Any]:
        return {"resource": {"name": self.name.pattern, "type": self.type}, "action": self.action}


@dataclass(frozen=True, slots=True)
class User:
    """A user of the metadata-store authenticator and of the authorizer; the password never leaves here."""

    name: str
    password: str = field(repr=False)
    roles: tuple[str, ...] = ()
    permissions: tuple[Permission, ...] = ()  # every permission of every role, resolved once

    def has_password(self, password: str) -> bool:
        """Whether ``password`` is this user's, compared in constant time."""
        return hmac.compare_digest(password.encode("utf-8"), self.password.encode("utf-8"))

    def may(self, resource_type: str, name: str, action: str) -> bool:
        return any(permission.allows(resource_type, name, action) for permission in self.permissions)


@dataclass(frozen=True, slots=True)
class Security:
    """A scenario's ``security:`` section: who may log in, and what each of them may do."""

    users: Mapping[str, User]
    roles: Mapping[str, tuple[Permission, ...]]

    def describe(self) -> dict[str, Any]:
        """The section as the control API shows it: users and their roles, roles and their permissions."""
        return {
            "users": [{"name": user.name, "roles": list(user.roles)} for user in self.users.values()],
            "roles": {name: [p.as_json() for p in permissions] for name, permissions in self.roles.items()},
        }
