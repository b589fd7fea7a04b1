"""Login, logout and changing one's own password."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_user
from flask_login import logout_user

from dashboard.auth import service
from dashboard.auth.access import any_staff
from dashboard.auth.access import public
from dashboard.auth.forms import LoginForm
from dashboard.auth.forms import PasswordChangeForm
from dashboard.auth.guard import mark_seen
from dashboard.auth.guard import safe_next
from dashboard.extensions import limiter
from dashboard.htmx import form_done
from dashboard.htmx import render_form

bp = Blueprint("auth", __name__)

LOGIN_FAILED = (
    "E-mail or password is wrong, or the account is locked. "
    f"After {service.MAX_FAILED_LOGINS} failed attempts an account is locked "
    f"for {service.LOCKOUT // timedelta(minutes=1)} minutes."
)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@public
def login():
    """Show the login form and sign staff in."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        if current_user.is_authenticated:
            return redirect(form.next.data or url_for("home.index"))
    if form.validate_on_submit():
        result = service.authenticate(form.email.data, form.password.data)
        if result.user is not None:
            login_user(result.user)
            mark_seen()
            if result.user.must_change_password:
                return form_done(url_for("auth.password"))
            return form_done(safe_next(form.next.data) or url_for("home.index"))
        form.password.errors.append(LOGIN_FAILED)
    return render_form("auth/login.html", "login_form", form, form=form)


@bp.route("/logout", methods=["POST"])
@any_staff
def logout():
    """Sign out and end this user's sessions everywhere."""
    service.logout(current_user._get_current_object())
    logout_user()
    flash("You are signed out.", "info")
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
            logout_user()
            flash(
                f"Too many wrong passwords: you are signed out and the account is locked for "
                f"{service.LOCKOUT // timedelta(minutes=1)} minutes.",
                "error",
            )
            return form_done(url_for("auth.login"))
        else:
            login_user(user)  # the token rotated: keep this session, end the others
            mark_seen()
            flash("Your password is changed. Other sessions were signed out.", "success")
            return form_done(url_for("home.index"))
    return render_form("auth/password.html", "password_form", form, form=form)
