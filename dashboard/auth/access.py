"""Who may call what: one endpoint → roles table, built from the route declarations.

Every view declares its roles with :func:`roles` (or :func:`public`). The table is
collected once at start-up; an endpoint missing from it is denied (DESIGN §8 "Roles").
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from typing import TypeVar

from flask import Flask

from dashboard.users.models import Role

F = TypeVar("F", bound=Callable[..., Any])

#: Marker for endpoints anyone may call (login, sandbox, healthz, static).
PUBLIC = "public"
#: Marker for the storefront API's endpoints: no staff session opens them; they check the API
#: key the request presents themselves (``dashboard/api``).
BEARER = "bearer"

#: Each role and the roles whose rights it includes (DESIGN §8).
ROLE_INCLUDES: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset({Role.VIEWER}),
    Role.SUPPORT: frozenset({Role.SUPPORT, Role.VIEWER}),
    Role.FINANCE: frozenset({Role.FINANCE, Role.VIEWER}),
    Role.MANAGER: frozenset({Role.MANAGER, Role.SUPPORT, Role.VIEWER}),
    Role.ADMIN: frozenset({Role.ADMIN, Role.VIEWER}),
}

#: Endpoints that are not view functions of ours.
BUILT_IN_PUBLIC = frozenset({"static"})

_ACCESS_ATTR = "_allowed_roles"

#: Header a live region sends when it re-renders itself after a poll: like the poll, not activity.
LIVE_REFRESH_HEADER = "X-Live-Refresh"


@dataclass(frozen=True)
class Access:
    """The roles a view declares; with ``inherit`` a role also counts the roles it includes."""

    roles: frozenset[str]
    inherit: bool = True


def roles(*allowed: str, inherit: bool = True) -> Callable[[F], F]:
    """Declare which roles may call a view.

    :param inherit: False limits the view to exactly these roles (the audit log is for
        auditors and admins, not for every role that includes viewer)
    """
    unknown = set(allowed) - set(ROLE_INCLUDES)
    if not allowed or unknown:
        raise ValueError(f"roles() needs known roles, got {allowed!r}")

    def decorate(view: F) -> F:
        setattr(view, _ACCESS_ATTR, Access(frozenset(allowed), inherit))
        return view

    return decorate


def any_staff(view: F) -> F:
    """Declare a view open to every logged-in role."""
    setattr(view, _ACCESS_ATTR, Access(frozenset(ROLE_INCLUDES)))
    return view


def public(view: F) -> F:
    """Declare a view open to everybody, logged in or not."""
    setattr(view, _ACCESS_ATTR, PUBLIC)
    return view


def bearer(view: F) -> F:
    """Declare a view of the storefront API: the staff guard leaves it to the API's key check."""
    setattr(view, _ACCESS_ATTR, BEARER)
    return view


def passive(view: F) -> F:
    """Mark a view as background traffic (live polls) that does not count as user activity."""
    view.passive = True  # type: ignore[attr-defined] - read by the guard
    return view


def build_access_table(app: Flask) -> dict[str, Access | str]:
    """Collect every endpoint's declaration into the table stored on the app."""
    table: dict[str, Access | str] = {}
    for endpoint, view in app.view_functions.items():
        declared = getattr(view, _ACCESS_ATTR, None)
        if declared is None and endpoint in BUILT_IN_PUBLIC:
            declared = PUBLIC
        if declared is not None:
            table[endpoint] = declared
    return table


def role_allows(role: str, allowed: Access | str) -> bool:
    """Return True when ``role`` meets the declaration ``allowed``."""
    if allowed == PUBLIC:
        return True
    if allowed == BEARER:
        return False
    if not allowed.inherit:
        return role in allowed.roles
    return bool(ROLE_INCLUDES.get(role, frozenset()) & allowed.roles)


def roles_for(allowed: Access | str) -> Iterable[str]:
    """Return every role that may call an endpoint with this declaration."""
    return [role for role in ROLE_INCLUDES if role_allows(role, allowed)]
