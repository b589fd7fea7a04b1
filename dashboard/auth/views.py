"""Login (with its second step), logout, changing one's own password and enrolling a second factor."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user
from werkzeug.exceptions import HTTPException

from dashboard.auth import second_factor
from dashboard.auth import service
from dashboard.auth.access import any_staff
from dashboard.auth.access import public
from dashboard.auth.forms import CodeForm
from dashboard.auth.forms import LanguageForm
from dashboard.auth.forms import LoginForm
from dashboard.auth.forms import PasswordChangeForm
from dashboard.auth.forms import SignInCodeForm
from dashboard.auth.guard import idle_expired
from dashboard.auth.guard import mark_seen
from dashboard.auth.guard import safe_next
from dashboard.auth.models import is_enrolled
from dashboard.extensions import limiter
from dashboard.htmx import form_done
from dashboard.htmx import navigate
from dashboard.htmx import render_form
from dashboard.htmx import render_page
from dashboard.i18n import SESSION_KEY as LANGUAGE_KEY
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.users.models import User

bp = Blueprint("auth", __name__)

CHECK_EMAIL = _l("Check the e-mail address.")
LOGIN_FAILED = _l(
    "E-mail or password is wrong, or the account is locked. "
    "After %(attempts)s failed attempts an account is locked for %(minutes)s minutes.",
    attempts=service.MAX_FAILED_LOGINS,
    minutes=service.LOCKOUT // timedelta(minutes=1),
)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@public
def login():
    """Show the login form and sign staff in (or, with a second factor, ask for the code next)."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        if current_user.is_authenticated:
            return redirect(form.next.data or url_for("home.index"))
    if form.validate_on_submit():
        result = service.authenticate(form.email.data, form.password.data)
        if result.needs_code:
            second_factor.start_sign_in(result.user, safe_next(form.next.data))
            return form_done(url_for("auth.login_code"))
        if result.user is not None:
            return _signed_in(result.user, form.next.data)
        # Either may be wrong: both are marked, so the error summary names and links each.
        form.email.errors.append(CHECK_EMAIL)
        form.password.errors.append(LOGIN_FAILED)
    return render_form("auth/login.html", "login_form", form, form=form)


def _signed_in(user: User, next_path: str | None):
    """Put ``user`` in this session and send them on (a temporary password is replaced first)."""
    login_user(user)
    mark_seen()
    if user.must_change_password:
        return form_done(url_for("auth.password"))
    return form_done(safe_next(next_path) or url_for("home.index"))


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@public
def login_code():
    """Ask for the authenticator code (or a recovery code) after a right password; then sign in."""
    pending = second_factor.pending_sign_in()
    if pending is None:
        flash(_("Sign in again: the code is asked for within a few minutes of the password."), "info")
        return navigate(url_for("auth.login"))
    user, next_path = pending
    form = SignInCodeForm()
    if form.validate_on_submit():
        try:
            user = second_factor.finish_sign_in(user, form.code.data or "")
        except second_factor.CodeRejected as rejected:
            form.code.errors.append(rejected.message)
        else:
            return _signed_in(user, next_path)
    return render_form("auth/login_code.html", "code_form", form, form=form, user=user)


@bp.route("/account/two-factor", methods=["GET", "POST"])
@any_staff
def two_factor():
    """Enrol an authenticator app: QR code, secret and a first code; then show the recovery codes once."""
    user = current_user._get_current_object()
    if is_enrolled(user.id):
        return render_page(
            "auth/two_factor.html", "two_factor", left=second_factor.recovery_codes_left(user.id)
        )
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = second_factor.confirm_enrolment(user, form.code.data or "")
        except second_factor.CodeRejected as rejected:
            form.code.errors.append(rejected.message)
        else:
            # Answered here, not redirected: the codes are shown this once and kept nowhere in clear.
            flash(_("Two-factor sign-in is on. Keep the recovery codes below somewhere safe."), "success")
            return render_page("auth/two_factor.html", "two_factor", codes=codes)
    enrolment = second_factor.enrolment(user)
    return render_form("auth/two_factor.html", "two_factor", form, form=form, enrolment=enrolment)


@bp.route("/language", methods=["POST"])
@public
def choose_language():
    """Show the pages in the chosen language: kept on the account when signed in, else in the session."""
    form = LanguageForm()
    if form.validate_on_submit():
        session[LANGUAGE_KEY] = form.language.data
        # A public route, so the guard's idle check has not run: an expired session writes nothing.
        if current_user.is_authenticated and not idle_expired():
            service.choose_language(current_user._get_current_object(), form.language.data)
    return redirect(_page_to_reread() or safe_next(form.next.data) or url_for("home.index"))


def _page_to_reread() -> str | None:
    """Return the local address the language was switched on (its Referer: with its filters, and as
    htmx last pushed it), if it is ours and can be read again with GET (not a confirmation POSTed to)."""
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc != request.host:
        return None
    target = safe_next(urlunsplit(("", "", came_from.path, came_from.query, "")))
    try:
        current_app.url_map.bind(request.host).match(came_from.path, method="GET")
    except HTTPException:
        return None
    return target


@bp.route("/logout", methods=["POST"])
@any_staff
def logout():
    """Sign out and end this user's sessions everywhere."""
    flash(_("You are signed out."), "info")  # in the language the user chose, before signing out
    service.logout(current_user._get_current_object())
    logout_user()
    session.pop(second_factor.CHECKED_AT, None)
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@any_staff
def password():
    """Change one's own password."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            user = service.change_own_password(
                current_user._get_current_object(), form.current_password.data, form.new_password.data
            )
        except service.PasswordRejected as rejected:
            getattr(form, rejected.field).errors.append(rejected.message)
        except service.AccountLocked:
            flash(
                _(
                    "Too many wrong passwords: you are signed out and the account is locked "
                    "for %(minutes)s minutes.",
                    minutes=service.LOCKOUT // timedelta(minutes=1),
                ),
                "error",
            )
            logout_user()
            return form_done(url_for("auth.login"))
        else:
            login_user(user)  # the token rotated: keep this session, end the others
            mark_seen()
            flash(_("Your password is changed. Other sessions were signed out."), "success")
            return form_done(url_for("home.index"))
    return render_form("auth/password.html", "password_form", form, form=form)
