"""Payroll batches: the list, the upload form, a batch's page (its preview, then its live progress),
its submit, discard and corrected-file forms, and the CSV downloads."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from flask import Blueprint
from flask import Response
from flask import flash
from flask import request
from flask import stream_with_context
from flask import url_for
from flask_login import current_user
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.ach import export
from dashboard.ach import samples
from dashboard.ach import service
from dashboard.ach.forms import BatchFilterForm
from dashboard.ach.forms import DiscardForm
from dashboard.ach.forms import SubmitForm
from dashboard.ach.forms import UploadForm
from dashboard.ach.forms import acknowledgement_missing
from dashboard.ach.models import AchBatch
from dashboard.ach.queries import LISTED_COLUMNS
from dashboard.ach.queries import BatchFilter
from dashboard.ach.queries import bank_totals
from dashboard.ach.queries import batch_conditions
from dashboard.ach.queries import batch_page
from dashboard.ach.queries import found_batches
from dashboard.ach.queries import items_page
from dashboard.ach.queries import problems_of
from dashboard.ach.queries import progress
from dashboard.ach.rules import first_value_date
from dashboard.ach.service import errors_blocking
from dashboard.ach.service import warnings_to_acknowledge
from dashboard.ach.states import EDITABLE_BATCH
from dashboard.ach.states import ItemStatus
from dashboard.auth.access import roles
from dashboard.db import reads_only
from dashboard.events.kinds import ObjectType
from dashboard.events.queries import object_timeline
from dashboard.events.queries import staff_names
from dashboard.events.service import created_after
from dashboard.events.service import latest_event_id
from dashboard.extensions import db
from dashboard.forms import confirm_first
from dashboard.htmx import form_done
from dashboard.htmx import is_htmx
from dashboard.htmx import navigate
from dashboard.htmx import render_form
from dashboard.htmx import render_page
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import NEW_ROWS_CAP
from dashboard.listing import Cursor
from dashboard.listing import fields_to_refresh
from dashboard.listing import filter_args
from dashboard.listing import new_rows_bar
from dashboard.listing import no_rows_page
from dashboard.listing import rendered_after
from dashboard.listing import shown_rows
from dashboard.listing import valid_filters
from dashboard.providers.hkach.consts import PROVIDER as HKACH
from dashboard.statuses import status_label
from dashboard.templating import can_open
from dashboard.users.models import Role

bp = Blueprint("ach", __name__, url_prefix="/ach")

#: Roles that see whole account numbers and employee ids; the others see their last 4 characters.
REVEALING_ROLES = frozenset({Role.FINANCE, Role.MANAGER})
#: How many problems the preview lists above the rows (the error report has every one).
PROBLEMS_SHOWN = 200
#: The status filters of a batch's rows before it is sent, and after.
CHECKED_ITEMS = ((ItemStatus.INVALID, _l("with errors")), (ItemStatus.VALID, _l("without errors")))
SENT_ITEMS = tuple(
    (status, status_label(status))
    for status in (
        ItemStatus.RECEIVED,
        ItemStatus.ACCEPTED,
        ItemStatus.PENDING,
        ItemStatus.PAID,
        ItemStatus.REJECTED,
    )
)


def masked(value: str | None) -> str:
    """Show an account number or an id by its last 4 characters only."""
    if not value:
        return "—"
    return "••••" + value[-4:] if len(value) > 4 else "••••"


def _shown_as_is(value: str | None) -> str:
    return value or "—"


def _id_display() -> Callable[[str | None], str]:
    """Return how this user sees account numbers and ids: whole for finance and managers, masked otherwise."""
    return _shown_as_is if current_user.role in REVEALING_ROLES else masked


@bp.get("/batches/")
@reads_only
@roles("viewer")
def index():
    """List payroll batches matching the filters and search, newest first, one keyset page at a time.

    Invalid filters are explained beside their fields and list nothing, never every batch.
    """
    form = BatchFilterForm(request.args)
    before = Cursor.parse(request.args.get("before"))
    filters = valid_filters(form, BatchFilter)
    sees_whole = current_user.role in REVEALING_ROLES
    page = (
        batch_page(db.session, filters, before, ids_by_prefix=sees_whole)
        if filters
        else no_rows_page(db.session)
    )
    return render_page(
        "ach/index.html",
        "results",
        form=form,
        page=page,
        deeper=before is not None,
        query_args=filter_args(request.args),
        latest_event_id=page.live_from,
        refreshed_fields=fields_to_refresh(form),
        names=staff_names(db.session, _people(page.rows)),
        topic=ObjectType.ACH_BATCH.value,
    )


@bp.get("/batches/since")
@reads_only
@roles("viewer")
def new_rows():
    """Answer the list's "N new batches" bar: batches uploaded after the page's event cursor
    (``after``) that its filters match, and how many more do not."""
    form = BatchFilterForm(request.args)
    filters = valid_filters(form, BatchFilter)
    conditions = None
    if filters:
        found = found_batches(db.session, filters, ids_by_prefix=current_user.role in REVEALING_ROLES)
        conditions = batch_conditions(db.session, filters, found)
    new_ids = created_after(db.session, ObjectType.ACH_BATCH, rendered_after(), NEW_ROWS_CAP + 1)
    return new_rows_bar(db.session, "ach/index.html", AchBatch.id, new_ids, conditions)


@bp.get("/batches/rows")
@reads_only
@roles("viewer")
def rows():
    """Re-render the list rows of the batches ``id`` names, as they are now."""
    return shown_rows(
        db.session,
        "ach/index.html",
        LISTED_COLUMNS,
        AchBatch.id,
        lambda rows: {"names": staff_names(db.session, _people(rows))},
    )


def _people(rows: Iterable[Any]) -> list[int]:
    return [person for row in rows for person in (row.uploaded_by_id, row.decided_by_id) if person]


def _upload_page(form: UploadForm, batch: AchBatch | None = None, duplicate_of: str | None = None):
    """Answer with the upload page (for htmx its form block): 422 while the form has errors."""
    return render_form(
        "ach/upload.html",
        "upload_form",
        form,
        form=form,
        batch=batch,
        duplicate_of=duplicate_of,
        # The sentence of rules.ACCEPTED_AMOUNTS (kept in English there: problems are stored).
        accepted_amounts=_(
            "digits with at most 2 decimals (1234, 1234.5 or 1234.50), with commas only between groups"
            " of three digits when a decimal point follows (1,234.50); no currency symbols, spaces or signs."
        ),
    )


@bp.get("/batches/new")
@roles("finance")
def new():
    """Show the upload form: the file, the value date (the next allowed day) and the account paid from."""
    form = UploadForm(formdata=None)
    form.fill_defaults(clock.now())
    return _upload_page(form)


@bp.post("/batches/new")
@roles("finance")
def create():
    """Read and check the uploaded payroll file and keep it as a draft batch; answer with its preview."""
    return _receive(UploadForm(), None)


@bp.get("/batches/<int:batch_id>/file")
@roles("finance")
def replace_form(batch_id: int):
    """Show the form that replaces a draft or rejected batch's file with a corrected one."""
    batch = db.get_or_404(AchBatch, batch_id)
    if batch.status not in EDITABLE_BATCH:
        flash(
            _("The batch is %(status)s: its file can no longer change.", status=status_label(batch.status)),
            "error",
        )
        return navigate(url_for("ach.detail", batch_id=batch.id))
    form = UploadForm(formdata=None)
    form.fill_defaults(clock.now(), batch.value_date, batch.debtor_account)
    form.encoding.data = request.args.get("encoding", "")
    return _upload_page(form, batch)


@bp.post("/batches/<int:batch_id>/file")
@roles("finance")
def replace(batch_id: int):
    """Read and check a corrected file for the batch and keep it in place of the old one."""
    return _receive(UploadForm(), db.get_or_404(AchBatch, batch_id))


def _receive(form: UploadForm, batch: AchBatch | None):
    """Hand a valid upload to the service; answer with the batch's page, or the form saying what is wrong.

    A refused file (its header, its size, its encoding, the same file as an earlier batch) stores
    nothing: the form says why, once.
    """
    if not form.validate_on_submit():
        return _upload_page(form, batch)
    upload = form.file.data
    try:
        uploaded = service.upload(
            upload.stream,
            # A name of nothing but NULs (which no column keeps) is no name.
            (upload.filename or "").replace("\x00", "") or "payroll.csv",
            value_date=form.value_date.data,
            debtor_account=form.debtor_account.data,
            uploader_id=current_user.id,
            encoding=form.encoding.data or None,
            duplicate_reason=form.duplicate_reason.data or None,
            batch_id=batch.id if batch is not None else None,
        )
    except service.BatchRefused as refused:
        form.file.errors.append(str(refused))
        return _upload_page(form, batch)
    if uploaded.refused is not None:
        form.file.errors.append(uploaded.refused.message)
        return _upload_page(form, batch)
    if uploaded.duplicate_of is not None:
        form.duplicate_reason.errors.append(
            _(
                "This file was uploaded before, as batch %(reference)s. Say why it is to be paid again,"
                " then choose the file again.",
                reference=uploaded.duplicate_of,
            )
        )
        return _upload_page(form, batch, uploaded.duplicate_of)
    flash(_("The file was read and checked: nothing is sent until it is submitted and approved."), "success")
    return form_done(url_for("ach.detail", batch_id=uploaded.batch_id))


def _detail_context(batch: AchBatch, block: str, **forms: Any) -> dict[str, Any]:
    """Return what the batch page shows, or for htmx what its ``block`` shows.

    Only the whole page reads the totals per bank, only the summary the problems and the timeline and
    only the rows' region a page of rows: a live refresh reads what it re-renders.
    """
    whole = not is_htmx()
    editable = batch.status in EDITABLE_BATCH
    statuses = CHECKED_ITEMS if editable else SENT_ITEMS
    status = request.args.get("status")
    if status not in dict(statuses):
        status = None
    after = Cursor.parse(request.args.get("after"), timed=False)
    shows_summary = whole or block == "summary"
    shows_problems = editable and shows_summary
    shows_items = whole or block == "items"
    return {
        "batch": batch,
        "topic": f"{ObjectType.ACH_BATCH.value}:{batch.id}",
        "names": staff_names(
            db.session,
            [
                batch.uploaded_by_id,
                batch.submitted_by_id,
                batch.decided_by_id,
                batch.warnings_acknowledged_by_id,
            ],
        ),
        "banks": bank_totals(db.session, batch.id) if whole else [],
        "problems": problems_of(db.session, batch.id, PROBLEMS_SHOWN) if shows_problems else [],
        "problems_shown": PROBLEMS_SHOWN,
        "events": object_timeline(db.session, ObjectType.ACH_BATCH, batch.id, HKACH)
        if shows_summary
        else None,
        "errors": errors_blocking(batch),
        "warnings": warnings_to_acknowledge(batch),
        "progress": progress(batch),
        "items": items_page(db.session, batch.id, status=status, cursor=after) if shows_items else None,
        "item_status": status,
        "item_statuses": (("", _("all")), *statuses),
        "show_id": _id_display(),
        "editable": editable,
        "acts": editable and can_open("ach.submit"),
        "submit_form": forms.get("submit_form") or SubmitForm(formdata=None, sha256=batch.sha256),
        "discard_form": forms.get("discard_form") or DiscardForm(formdata=None),
        "confirming": forms.get("confirming"),
    }


@bp.get("/batches/<int:batch_id>")
@roles("viewer")
def detail(batch_id: int):
    """Show one batch: its preview while a draft, then who decided and its progress; its rows by status.

    For htmx (the summary's live refresh) only the summary block.
    """
    return _batch_page(batch_id, "summary")


@bp.get("/batches/<int:batch_id>/items")
@roles("viewer")
def items(batch_id: int):
    """Show the batch page at its rows filtered by status (for htmx only the rows' block)."""
    return _batch_page(batch_id, "items")


def _batch_page(batch_id: int, block: str):
    cursor = latest_event_id(db.session)
    batch = db.get_or_404(AchBatch, batch_id)
    return render_page("ach/detail.html", block, latest_event_id=cursor, **_detail_context(batch, block))


def _actions(batch: AchBatch, form: SubmitForm | DiscardForm, confirming: str | None = None):
    """Answer with the batch page (for htmx its actions block): 422 while ``form`` has errors."""
    name = "submit_form" if isinstance(form, SubmitForm) else "discard_form"
    context = _detail_context(batch, "actions", **{name: form, "confirming": confirming})
    return render_form(
        "ach/detail.html", "actions", form, latest_event_id=latest_event_id(db.session), **context
    )


@bp.post("/batches/<int:batch_id>/submit")
@roles("finance")
def submit(batch_id: int):
    """Check the acknowledgement, show what submitting does, and once confirmed ask a manager to approve."""
    batch = db.get_or_404(AchBatch, batch_id)
    form = SubmitForm()
    return confirm_first(
        form,
        lambda confirming: _actions(batch, form, "submit" if confirming else None),
        lambda: _send_for_approval(batch, form),
        lambda: acknowledgement_missing(form, warnings_to_acknowledge(batch)),
    )


def _send_for_approval(batch: AchBatch, form: SubmitForm):
    try:
        service.submit_for_approval(
            batch.id,
            current_user.id,
            warnings_acknowledged=bool(form.acknowledge.data),
            sha256=form.sha256.data or "",
        )
    except service.BatchRefused as refused:
        form.acknowledge.errors.append(_("It cannot be submitted: %(reason)s.", reason=refused))
        return _actions(db.get_or_404(AchBatch, batch.id), form)
    flash(
        _("Submitted for approval: a manager who did not upload it approves it before anything is paid."),
        "success",
    )
    return form_done(url_for("ach.detail", batch_id=batch.id))


@bp.post("/batches/<int:batch_id>/discard")
@roles("finance")
def discard(batch_id: int):
    """Show what discarding does, and once confirmed discard the batch (nothing was sent)."""
    batch = db.get_or_404(AchBatch, batch_id)
    form = DiscardForm()
    return confirm_first(
        form,
        lambda confirming: _actions(batch, form, "discard" if confirming else None),
        lambda: _discard(batch, form),
    )


def _discard(batch: AchBatch, form: DiscardForm):
    try:
        service.discard(batch.id, current_user.id)
    except service.BatchRefused as refused:
        flash(_("It cannot be discarded: %(reason)s.", reason=refused), "error")
        return _actions(db.get_or_404(AchBatch, batch.id), form)
    flash(_("Batch %(reference)s was discarded; nothing was sent.", reference=batch.reference), "success")
    return form_done(url_for("ach.detail", batch_id=batch.id))


def _csv(lines: Iterable[str | bytes], filename: str) -> Response:
    """Stream CSV ``lines`` as a download named ``filename``."""
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/batches/<int:batch_id>/result.csv")
@roles("finance", "manager")
def result_csv(batch_id: int):
    """Download every payee's final status and reason as CSV (formula-safe)."""
    return _batch_download(batch_id, "result", export.result_rows)


@bp.get("/batches/<int:batch_id>/errors.csv")
@roles("finance", "manager")
def errors_csv(batch_id: int):
    """Download every problem found in the file, and every payee the bank rejected, as CSV (formula-safe)."""
    return _batch_download(batch_id, "errors", export.error_rows)


def _batch_download(batch_id: int, kind: str, rows: Callable[[Session, int], Iterable[str]]) -> Response:
    """Audit the download of a batch's ``kind`` file, then stream it (it holds whole account numbers)."""
    batch = db.get_or_404(AchBatch, batch_id)
    export.record_download(db.session, batch_id, kind)
    return _csv(rows(db.session, batch_id), f"payroll-{batch.reference}-{kind}.csv")


@bp.get("/template.csv")
@roles("finance")
def template_csv():
    """Download the payroll template: the header and one example row."""
    return _csv([samples.template_csv()], "payroll-template.csv")


@bp.get("/demo.csv")
@roles("finance")
def demo_csv():
    """Download the demo payroll of 500 employees: with a few deliberate mistakes, or corrected."""
    corrected = request.args.get("corrected") == "1"
    content = samples.demo_payroll_csv(value_date=first_value_date(clock.now()), fixed=corrected)
    return _csv([content], "payroll-demo-corrected.csv" if corrected else "payroll-demo.csv")
