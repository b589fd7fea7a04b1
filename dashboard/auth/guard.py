"""The access check run before every request, the idle timeout, and the login manager hooks."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import logout_user
from sqlalchemy import bindparam
from sqlalchemy import select

from dashboard import clock
from dashboard.audit import service as audit
from dashboard.auth import second_factor
from dashboard.auth.access import BEARER
from dashboard.auth.access import LIVE_REFRESH_HEADER
from dashboard.auth.access import PUBLIC
from dashboard.auth.access import build_access_table
from dashboard.auth.access import role_allows
from dashboard.auth.models import confirmed_factor_exists
from dashboard.auth.service import LOCKOUT
from dashboard.auth.service import AccountLocked
from dashboard.db import write_transaction
from dashboard.events.kinds import ObjectType
from dashboard.extensions import db
from dashboard.extensions import login_manager
from dashboard.htmx import hx_redirect
from dashboard.htmx import is_htmx
from dashboard.htmx import navigate
from dashboard.i18n import gettext as _
from dashboard.users.models import SignedIn
from dashboard.users.models import User

_SEEN_KEY = "seen"
#: How stale the recorded activity may be before a request records it again. Most requests then
#: leave the session as it is and send no cookie; the idle timeout holds to within this.
_SEEN_PRECISION_SECONDS = 60
#: Endpoints that a user who must replace a temporary password may still use.
_PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.password", "auth.logout", "static"})
#: Endpoints that a user who must enrol a second factor may still use.
_ENROL_ENDPOINTS = frozenset({"auth.two_factor", "auth.logout", "static"})


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if a browser would read it as a path on this site, else None (no open redirects).

    A browser drops tabs and newlines anywhere in a URL and reads a backslash as a slash (WHATWG URL
    standard, "basic URL parser"), so ``/<TAB>/evil.example`` reaches another host: a target holding any
    control character or backslash is refused before it is parsed.
    """
    if (
        not target
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target)
    ):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target


#: Every signed-in request runs it: built once, so SQLAlchemy neither builds it nor computes its
#: cache key again per request. The second factor is read with the account: the access check of
#: a role that must have one would otherwise ask for it on every request.
_SIGNED_IN_BY_SESSION_TOKEN = select(
    *(getattr(User, field.name) for field in fields(SignedIn) if field.name != "second_factor_enrolled"),
    confirmed_factor_exists(User.id).label("second_factor_enrolled"),
).where(User.session_token == bindparam("token"), User.active)


@login_manager.user_loader
def load_user(session_token: str) -> SignedIn | None:
    """Find the active user whose current per-login token is in the session."""
    row = db.session.execute(_SIGNED_IN_BY_SESSION_TOKEN, {"token": session_token}).first()
    return None if row is None else SignedIn(**row._mapping)


@login_manager.unauthorized_handler
def unauthorized():
    """Send anonymous users to the login page (htmx: 401 with HX-Redirect)."""
    if is_htmx():
        # Come back to the page the user was on, not to the fragment URL htmx asked for.
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
        path = current.path + (f"?{current.query}" if current.query else "") if current.path else None
        return hx_redirect(url_for("auth.login", next=safe_next(path)), status=401)
    return redirect(url_for("auth.login", next=safe_next(request.full_path.rstrip("?"))))


def mark_seen() -> None:
    """Record activity for the idle timeout, unless it was recorded within the last minute."""
    now = clock.now().timestamp()
    if now - session.get(_SEEN_KEY, 0) > _SEEN_PRECISION_SECONDS:
        session[_SEEN_KEY] = now


def idle_expired() -> bool:
    seen = session.get(_SEEN_KEY)
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    return seen is None or clock.now().timestamp() - seen > idle.total_seconds()


def enforce_access():
    """Allow, redirect to login, or refuse with 403 according to the access table."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route: the 404 handler answers
    allowed = current_app.extensions["access_table"].get(endpoint)
    if allowed in (PUBLIC, BEARER):
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if idle_expired():
        # Said before signing out, in the language the user chose.
        flash(_("You were signed out after a period of inactivity."), "info")
        logout_user()
        session.pop(_SEEN_KEY, None)
        return login_manager.unauthorized()
    if allowed is None or not role_allows(current_user.role, allowed):
        with write_transaction(db.session):
            audit.record(
                db.session,
                "access.denied",
                object_type=ObjectType.ENDPOINT,
                object_id=endpoint,
                after={"method": request.method, "path": request.path},
            )
        abort(403)
    if current_user.must_change_password and endpoint not in _PASSWORD_CHANGE_ENDPOINTS:
        flash(_("Choose a new password before you continue."), "info")
        return navigate(url_for("auth.password"))
    if endpoint not in _ENROL_ENDPOINTS and second_factor.must_enrol(current_user):
        flash(_("Set up two-factor sign-in before you continue: your role requires it."), "info")
        return navigate(url_for("auth.two_factor"))
    if not _passive(endpoint):
        mark_seen()
    return None


def _passive(endpoint: str) -> bool:
    """Live polls, and the re-renders they trigger, are not user activity (DESIGN §8)."""
    view_is_passive = getattr(current_app.view_functions[endpoint], "passive", False)
    live_refresh = request.method == "GET" and request.headers.get(LIVE_REFRESH_HEADER) == "true"
    return view_is_passive or live_refresh


def signed_out_locked(_locked: AccountLocked):
    """Answer a wrong code that locked the account: its sessions ended, so sign this one out too."""
    # Said before signing out, in the language the user chose.
    flash(
        _(
            "Too many wrong codes: you are signed out and the account is locked for %(minutes)s minutes.",
            minutes=LOCKOUT // timedelta(minutes=1),
        ),
        "error",
    )
    logout_user()
    session.pop(second_factor.PENDING, None)
    return navigate(url_for("auth.login"))


def init_guard(app: Flask) -> None:
    """Build the access table and install the check (after blueprints are registered)."""
    app.extensions["access_table"] = build_access_table(app)
    app.before_request(enforce_access)
    app.register_error_handler(AccountLocked, signed_out_locked)
