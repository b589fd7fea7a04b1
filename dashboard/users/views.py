"""List, create, re-role, disable, enable, unlock and reset staff accounts (password, second factor)."""

from __future__ import annotations

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_babel import LazyString
from flask_login import current_user
from sqlalchemy import select

from dashboard.auth import second_factor
from dashboard.auth.access import roles
from dashboard.auth.forms import EmptyForm
from dashboard.auth.guard import safe_next
from dashboard.auth.models import is_enrolled
from dashboard.extensions import db
from dashboard.forms import confirm_first
from dashboard.htmx import form_done
from dashboard.htmx import navigate
from dashboard.htmx import render_form
from dashboard.htmx import render_page
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.users import service
from dashboard.users.forms import DisableForm
from dashboard.users.forms import FreshCodeForm
from dashboard.users.forms import ResetPasswordForm
from dashboard.users.forms import RoleForm
from dashboard.users.forms import UserCreateForm
from dashboard.users.models import ROLE_WORDS
from dashboard.users.models import User

bp = Blueprint("users", __name__, url_prefix="/admin/users")

#: What an admin reads when a change to an account waits for a fresh code.
FRESH_CODE_FIRST = _l(
    "Give a fresh code from your authenticator app first (above): account changes need one."
)


@bp.before_request
def fresh_code_for_changes():
    """Refuse to change an account while a step-up is due: an admin who can re-role, reset or add
    staff can take any role's powers, so the same fresh code guards it as guards moving money."""
    if request.method == "POST" and request.endpoint != "users.step_up" and second_factor.step_up_due():
        flash(str(FRESH_CODE_FIRST), "error")
        back = request.view_args.get("user_id") if request.view_args else None
        return navigate(url_for("users.detail", user_id=back) if back else url_for("users.index"))
    return None


@bp.post("/step-up")
@roles("admin")
def step_up():
    """Take the fresh code the account pages ask for, then go back to the page it was given on."""
    form = FreshCodeForm()
    back = safe_next(request.form.get("next")) or url_for("users.index")
    if form.validate_on_submit() and not form.stepped_up():
        flash(" ".join(map(str, form.step_up_code.errors)), "error")
    return navigate(back)


def _listing(create_form: UserCreateForm) -> dict:
    """Return what the list page shows: every account, active first, and the form to add one."""
    users = db.session.scalars(select(User).order_by(User.active.desc(), User.email)).all()
    return {"users": users, "create_form": create_form, "fresh_code_form": FreshCodeForm()}


@bp.get("/")
@roles("admin")
def index():
    """List staff accounts with the form to add one."""
    return render_page("users/index.html", "create_user", **_listing(UserCreateForm()))


@bp.post("/")
@roles("admin")
def create():
    """Create a staff account; the list shows it at once and the form starts empty again."""
    form = UserCreateForm()
    if form.validate_on_submit():
        try:
            user = service.create_user(form.email.data, form.name.data, form.role.data, form.password.data)
        except service.UserRuleBroken as broken:
            getattr(form, broken.field or "email").errors.append(broken.message)
        else:
            flash(
                _("%(email)s can now log in as %(role)s.", email=user.email, role=ROLE_WORDS[user.role]),
                "success",
            )
            return form_done(
                url_for("users.index"),
                "users/index.html",
                "create_user",
                oob=["users/_table.html"],
                **_listing(UserCreateForm(formdata=None)),
            )
    return render_form("users/index.html", "create_user", form, **_listing(form))


@bp.get("/<int:user_id>")
@roles("admin")
def detail(user_id: int):
    """Show one account with its role, status and password reset."""
    return _detail_page(db.get_or_404(User, user_id), DisableForm())


def _detail_page(user: User, disable_form: DisableForm, *, confirming: bool = False):
    """Answer with the account's page (for htmx its status block, where disabling is confirmed)."""
    return render_form(
        "users/detail.html",
        "account_status",
        disable_form,
        user=user,
        fresh_code_form=FreshCodeForm(),
        role_form=RoleForm(role=user.role),
        reset_form=ResetPasswordForm(),
        toggle_form=EmptyForm(),
        disable_form=disable_form,
        confirming=confirming,
        enrolled=is_enrolled(user.id),
    )


def _apply(user_id: int, action, success: LazyString):
    """Do ``action`` on the account; flash ``success`` (naming its ``%(email)s`` and ``%(role)s``) or
    why it was refused."""
    try:
        user = action()
    except service.UserRuleBroken as broken:
        flash(broken.message, "error")
    else:
        flash(str(success) % {"email": user.email, "role": ROLE_WORDS[user.role]}, "success")
    return navigate(url_for("users.detail", user_id=user_id))


@bp.post("/<int:user_id>/role")
@roles("admin")
def change_role(user_id: int):
    """Change a user's role; their sessions end."""
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the listed roles."), "error")
        return redirect(url_for("users.detail", user_id=user_id))
    return _apply(
        user_id, lambda: service.change_role(user_id, form.role.data), _l("%(email)s is now %(role)s.")
    )


@bp.post("/<int:user_id>/disable")
@roles("admin")
def disable(user_id: int):
    """Show what disabling the account does and, once confirmed, disable it (their sessions end at once).

    One's own account is refused before any confirmation.
    """
    user = db.get_or_404(User, user_id)
    actor = current_user._get_current_object()
    if user.id == actor.id:
        flash(_("You cannot disable your own account."), "error")
        return navigate(url_for("users.detail", user_id=user_id))
    form = DisableForm()
    return confirm_first(
        form,
        lambda confirming: _detail_page(user, form, confirming=confirming),
        lambda: _apply(
            user_id, lambda: service.set_active(actor, user_id, False), _l("%(email)s is disabled.")
        ),
    )


@bp.post("/<int:user_id>/enable")
@roles("admin")
def enable(user_id: int):
    """Re-enable a disabled user."""
    actor = current_user._get_current_object()
    return _apply(
        user_id, lambda: service.set_active(actor, user_id, True), _l("%(email)s can log in again.")
    )


@bp.post("/<int:user_id>/unlock")
@roles("admin")
def unlock(user_id: int):
    """Lift a user's lockout before it runs out."""
    return _apply(
        user_id, lambda: service.unlock(user_id), _l("%(email)s is unlocked and can sign in again.")
    )


@bp.post("/<int:user_id>/password")
@roles("admin")
def reset_password(user_id: int):
    """Set a temporary password for a user."""
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        flash(_("Enter a temporary password."), "error")
        return redirect(url_for("users.detail", user_id=user_id))
    return _apply(
        user_id,
        lambda: service.reset_password(user_id, form.password.data),
        _l("%(email)s has a new temporary password and must change it at next login."),
    )


@bp.post("/<int:user_id>/second-factor/reset")
@roles("admin")
def reset_second_factor(user_id: int):
    """Forget a user's authenticator app (a lost phone); they enrol again at next sign-in."""
    return _apply(
        user_id,
        lambda: service.reset_second_factor(user_id),
        _l("%(email)s has no second factor now: they set one up again at their next sign-in."),
    )
