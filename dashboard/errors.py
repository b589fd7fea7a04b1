"""Error pages: whole pages for browsers, a message into ``#flash`` for htmx."""

from __future__ import annotations

from flask import Flask
from flask import g
from flask import make_response
from flask import render_template
from flask import request
from flask_babel import LazyString
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError
from werkzeug.exceptions import ServiceUnavailable

from dashboard.api import PREFIX as API_PREFIX
from dashboard.api.problems import for_status
from dashboard.extensions import db
from dashboard.extensions import login_manager
from dashboard.htmx import is_htmx
from dashboard.i18n import lazy_gettext as _l

MESSAGES = {
    400: _l("The request could not be understood."),
    403: _l("You do not have access to this. Ask an admin if you need it."),
    404: _l("There is nothing here. The link may be old or mistyped."),
    405: _l("That action is not available here."),
    409: _l("Somebody changed this at the same time. Reload to see the latest state."),
    413: _l("That upload is too large."),
    429: _l("Too many attempts. Wait a minute and try again."),
    500: _l("Something went wrong on our side. The error has been logged; try again."),
    503: _l("The database is not answering. Try again in a minute; the error has been logged."),
}
CSRF_MESSAGE = _l("This form expired or was sent without its security token. Reload the page and try again.")


def render_error(code: int, message: str | LazyString | None = None):
    """Render the error page, or for htmx the fragment retargeted at ``#flash``."""
    text = message or MESSAGES.get(code, _l("The request failed."))
    if is_htmx():
        response = make_response(render_template("errors/_fragment.html", code=code, message=text), code)
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
    else:
        response = make_response(render_template("errors/error.html", code=code, message=text), code)
    response.vary.add("HX-Request")
    return response


def database_unavailable(error: BaseException) -> bool:
    """Return whether ``error`` says the database cannot be reached or answer in time (a 503), not
    that something is wrong with what was asked of it (a 500)."""
    if isinstance(error, PoolTimeout):
        return True  # every pooled connection stayed busy
    if not isinstance(error, OperationalError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    # psycopg: connection failed or timed out (its base OperationalError), or a statement timeout.
    if type(orig).__module__.startswith("psycopg"):
        return type(orig).__name__ in ("OperationalError", "ConnectionTimeout", "QueryCanceled")
    return "database is locked" in str(orig)  # SQLite's busy timeout ran out


def register_error_handlers(app: Flask) -> None:
    """Install the handlers for HTTP errors, CSRF failures, concurrent updates and crashes."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, CSRF_MESSAGE)

    @app.errorhandler(StaleDataError)
    def concurrent_update(error: StaleDataError):
        # A version column saw another writer commit first: the user's view of the row was old.
        app.logger.warning("concurrent update refused: %s", error)
        db.session.rollback()
        return render_error(409)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if error.code == 500:
            db.session.rollback()
        if request.path.startswith(API_PREFIX + "/"):
            # No API route matched (404, 405): the storefront reads problem details, not a page.
            response = for_status(error.code).response()
        else:
            # A 400 of ours says what was wrong; Werkzeug's own (English) description gives way to ours.
            ours = error.code == 400 and error.description != type(error).description
            response = render_error(error.code, error.description if ours else None)
        # What the error itself says besides its body: Retry-After on a 429, Allow on a 405.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers.add(name, value)
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if database_unavailable(error):
            # Unreachable, silent, too slow or too busy: the page is drawn without reading the
            # user again, which would wait for the same database.
            app.logger.error("database unavailable", exc_info=error)
            g._login_user = login_manager.anonymous_user()
            db.session.rollback()
            return render_error(ServiceUnavailable.code)
        app.logger.exception("unhandled error", exc_info=error)
        db.session.rollback()
        return render_error(InternalServerError.code)
