"""Reading a scenario's ``security:`` section, with errors that name the file, the line and the fix.

The shape is Druid's own: users with a password and role names, and roles with the permission
objects Druid's role API takes (``{"resource": {"type", "name"}, "action"}``), so a role can be
pasted from a real cluster's configuration::

    security:
      users:
        admin: {password: admin-password, roles: [admin]}
      roles:
        admin:
          - {resource: {type: DATASOURCE, name: ".*"}, action: READ}
"""

from __future__ import annotations

import difflib
from typing import Any

from druid_sim.fields import Invalid, Section, as_regex, as_str_list, section_of, type_name
from druid_sim.security.model import ACTIONS, RESOURCE_TYPES, Permission, Security, User
from druid_sim.util.quoting import shown, shown_name


def _as_upper_choice(*choices: str) -> Any:
    """One of ``choices``, which Druid spells in capitals; a lower-case spelling gets that hint."""

    def parse(value: Any) -> str:
        if value in choices:
            return str(value)
        if isinstance(value, str) and value.upper() in choices:
            raise Invalid(f"Druid spells it in capitals: {shown(value.upper())}, not {shown(value)}")
        close = difflib.get_close_matches(str(value).upper(), choices, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise Invalid(f"must be one of {', '.join(choices)}, not {shown(value)}{hint}")

    return parse


def _as_login(what: str) -> Any:
    """A user name or password Druid's Basic authenticator can accept: non-empty, without ``:``."""

    def parse(value: Any) -> str:
        if not isinstance(value, str) or not value:  # say what is wrong without repeating a password
            raise Invalid(f"must be a non-empty string; quote it if YAML reads it as something else ({what})")
        text = value
        if ":" in text:
            raise Invalid(
                f"a {what} containing ':' can never log in: Druid splits 'user:password' on every ':' "
                "(BasicHTTPAuthenticator); choose one without it"
            )
        return text

    return parse


def _read_permission(section: Section) -> Permission | None:
    resource = section.section("resource")
    action = section.take("action", _as_upper_choice(*ACTIONS), "", required=True)
    if resource is None:
        if not section.has("resource"):
            section.report("resource", 'is required, e.g. {type: DATASOURCE, name: "wiki.*"}')
        section.finish()
        return None
    kind = resource.take("type", _as_upper_choice(*RESOURCE_TYPES), "", required=True)
    name = resource.take("name", as_regex, None, required=True)
    resource.finish()
    section.finish()
    if not kind or name is None or not action:
        return None
    return Permission(kind, name, action)


def _read_roles(section: Section) -> dict[str, tuple[Permission, ...]]:
    roles: dict[str, tuple[Permission, ...]] = {}
    for name in list(section.data):
        if not isinstance(name, str) or not name:
            section.ctx.report(
                section.line_of(name), section.path, f"a role name must be a string, not {type_name(name)}"
            )
            continue
        permissions = []
        for path, line, item in section.items(name):
            entry = section_of(section.ctx, path, line, item)
            permission = _read_permission(entry) if entry is not None else None
            if permission is not None:
                permissions.append(permission)
        roles[name] = tuple(permissions)
    return roles


def _read_users(section: Section, roles: dict[str, tuple[Permission, ...]]) -> dict[str, User]:
    users: dict[str, User] = {}
    for name in list(section.data):
        if not isinstance(name, str) or not name or ":" in name:
            why = (
                "contains ':' and could never log in"
                if isinstance(name, str) and name
                else "must be a non-empty string"
            )
            section.ctx.report(section.line_of(name), section.field(name), f"a user name {why}")
            section.section(name)
            continue
        entry = section.section(name)
        if entry is None:
            if section.data.get(name) is None:
                section.report(name, "needs {password: ..., roles: [...]}")
            continue
        password = entry.take("password", _as_login("password"), "", required=True)
        no_roles: tuple[str, ...] = ()
        user_roles = entry.take("roles", as_str_list, no_roles)
        for role in user_roles:
            if role not in roles:
                defined = ", ".join(map(shown_name, sorted(roles))) or "none (add a roles: section)"
                close = difflib.get_close_matches(role, list(roles), n=1, cutoff=0.6)
                hint = f"did you mean '{shown_name(close[0])}'? " if close else ""
                entry.report(
                    "roles", f"unknown role {shown(role)}; {hint}roles defined under security.roles: {defined}"
                )
        entry.finish()
        if password:
            granted = tuple(p for role in user_roles for p in roles.get(role, ()))
            users[name] = User(name, password, user_roles, granted)
    return users


def read_security(section: Section) -> Security | None:
    """The :class:`Security` in a ``security:`` section; problems go to the section's context."""
    roles_section = section.section("roles")
    users_section = section.section("users")
    for named in (roles_section, users_section):
        if named is not None:
            named.keys_are_names = True  # role and user names are the file's own words
    roles = _read_roles(roles_section) if roles_section is not None else {}
    users = _read_users(users_section, roles) if users_section is not None else {}
    if (
        not section.has("users")
        or section.data["users"] is None
        or (users_section is not None and not users_section.data)
    ):
        section.report("users", "needs at least one user, e.g. users: {admin: {password: secret, roles: [admin]}}")
    section.finish()
    if not users:
        return None
    return Security(users=users, roles=roles)
