"""The admin page of API keys: list, create (the secret shown once), revoke."""

from __future__ import annotations

from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import url_for
from flask_login import current_user

from dashboard import clock
from dashboard.api import service
from dashboard.api.forms import ApiKeyForm
from dashboard.auth.access import roles
from dashboard.auth.forms import EmptyForm
from dashboard.events.queries import staff_names
from dashboard.extensions import db
from dashboard.htmx import form_done
from dashboard.htmx import is_htmx
from dashboard.htmx import render_form
from dashboard.htmx import render_page
from dashboard.i18n import gettext as _
from dashboard.listing import start_of_day

bp = Blueprint("api_keys", __name__, url_prefix="/admin/api-keys")
#: The form field beside which each rule the service names is explained.
_FIELDS = {"name": "name", "scopes": "scopes", "expires_at": "expires_on"}


def _listing(form: ApiKeyForm, new_key: service.NewKey | None = None) -> dict:
    """Return what the page shows: every key, newest first, the form, and a key just made."""
    keys = service.keys(db.session)
    return {
        "keys": keys,
        "names": staff_names(db.session, [key.created_by_id for key in keys]),
        "now": clock.now(),
        "form": form,
        "new_key": new_key,
        "revoke_form": EmptyForm(),
        "sandbox": current_app.config["SANDBOX"],
    }


@bp.get("/")
@roles("admin")
def index():
    """List the API keys with the form to make one."""
    return render_page("api_keys/index.html", "create_key", **_listing(ApiKeyForm()))


@bp.post("/")
@roles("admin")
def create():
    """Make a key and show its secret once: in the answer, never in a flash or a redirect."""
    form = ApiKeyForm()
    # A key moves money through the API, where no code is asked: making one asks for a fresh code.
    if form.validate_on_submit() and form.stepped_up():
        day = form.expires_on.data
        expires_at = start_of_day(day, current_app.config["DISPLAY_TIMEZONE"]) if day else None
        try:
            made = service.create_key(form.name.data, form.scopes.data, expires_at, actor_id=current_user.id)
        except service.KeyRuleBroken as broken:
            getattr(form, _FIELDS.get(broken.field, "name")).errors.append(broken.message)
        else:
            shown = _listing(ApiKeyForm(formdata=None), made)
            if is_htmx():
                return form_done(
                    url_for("api_keys.index"),
                    "api_keys/index.html",
                    "create_key",
                    oob=["api_keys/_table.html"],
                    **shown,
                )
            return render_page("api_keys/index.html", **shown)
    return render_form("api_keys/index.html", "create_key", form, **_listing(form))


@bp.post("/<int:key_id>/revoke")
@roles("admin")
def revoke(key_id: int):
    """Revoke a key: every later call with it is refused."""
    if not EmptyForm().validate_on_submit():
        flash(_("This form expired; reload the page and try again."), "error")
    else:
        try:
            key = service.revoke_key(key_id, actor_id=current_user.id)
        except service.KeyRuleBroken as broken:
            flash(broken.message, "error")
        else:
            flash(
                _(
                    "%(name)s (%(prefix)s…) is revoked; calls with it are refused from now on.",
                    name=key.name,
                    prefix=key.prefix,
                ),
                "success",
            )
    return redirect(url_for("api_keys.index"))
