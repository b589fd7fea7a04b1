"""Staff sessions: Flask's signed cookie, except on paths that only machines call."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask
from flask import Request
from flask import Response
from flask import request
from flask.sessions import SecureCookieSession
from flask.sessions import SecureCookieSessionInterface
from flask.sessions import SessionMixin


class StaffSessions(SecureCookieSessionInterface):
    """Signed-cookie sessions; on ``sessionless`` paths a request's session starts empty and is never saved.

    No cookie is read, signed or set there (provider webhooks); an error page rendered there may
    still write to the throw-away session (its CSRF token).
    """

    def __init__(self, sessionless: Iterable[str]):
        self.sessionless = frozenset(sessionless)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path in self.sessionless:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.path in self.sessionless:
            return
        super().save_session(app, session, response)


def init_sessions(app: Flask, sessionless: Iterable[str]) -> None:
    """Use :class:`StaffSessions` for ``app``."""
    app.session_interface = StaffSessions(sessionless)
