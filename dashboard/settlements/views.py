"""Settlement pages: the batches and their state, a report upload, a batch's differences with their
notes, and the differences as CSV."""

from __future__ import annotations

from flask import Blueprint
from flask import Response
from flask import abort
from flask import flash
from flask import request
from flask import stream_with_context
from flask import url_for
from flask_login import current_user

from dashboard.auth.access import roles
from dashboard.db import reads_only
from dashboard.events.queries import staff_names
from dashboard.extensions import db
from dashboard.htmx import form_done
from dashboard.htmx import render_form
from dashboard.htmx import render_page
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.listing import Cursor
from dashboard.listing import Page
from dashboard.listing import filter_args
from dashboard.listing import valid_filters
from dashboard.providers.registry import label as provider_label
from dashboard.settlements import export
from dashboard.settlements import service
from dashboard.settlements.forms import BatchFilterForm
from dashboard.settlements.forms import ImportForm
from dashboard.settlements.forms import NoteForm
from dashboard.settlements.models import Scope
from dashboard.settlements.models import SettlementBatch
from dashboard.settlements.models import SettlementFile
from dashboard.settlements.models import SettlementResult
from dashboard.settlements.queries import DIFFERENCES_SHOWN
from dashboard.settlements.queries import BatchFilter
from dashboard.settlements.queries import batch_page
from dashboard.settlements.queries import differences
from dashboard.settlements.queries import matched_count
from dashboard.settlements.queries import replaced_files
from dashboard.templating import can_open

bp = Blueprint("settlements", __name__, url_prefix="/settlements")

#: What each outcome means to the person reconciling, and what usually explains it.
OUTCOME_WORDS = {
    "amount_mismatch": _l("Amount differs from ours"),
    "missing_ours": _l("Settled by the provider, unknown to us"),
    "missing_theirs": _l("Ours, not in the provider's batch"),
    "status_mismatch": _l("Settled in a state ours disagrees with"),
    "fee": _l("Fee charged outside a transaction"),
    "totals_mismatch": _l("Rows do not add up to the summary"),
}
#: The same, for a day's transactions: its report lists what was made, not what settled.
DAY_OUTCOME_WORDS = OUTCOME_WORDS | {
    "missing_ours": _l("In the provider's report, unknown to us"),
    "missing_theirs": _l("Ours, not in the provider's report"),
    "status_mismatch": _l("The provider's latest status differs from ours"),
}


def _index_context(form: BatchFilterForm) -> dict:
    before = Cursor.parse(request.args.get("before"), timed=False)
    filters = valid_filters(form, BatchFilter)
    page = batch_page(db.session, filters, before) if filters else Page([], None)
    return {"form": form, "page": page, "deeper": before is not None, "query_args": filter_args(request.args)}


@bp.get("/")
@reads_only
@roles("viewer")
def index():
    """List settlement batches, newest first, with their state (balanced, differences, resolved, waiting)."""
    return render_page("settlements/index.html", "results", **_index_context(BatchFilterForm(request.args)))


def _import_page(form: ImportForm):
    return render_form("settlements/import.html", "import_form", form, form=form)


@bp.get("/import")
@roles("finance")
def import_form():
    """Show the upload form of a settlement report file."""
    return _import_page(ImportForm(formdata=None))


@bp.post("/import")
@roles("finance")
def import_file():
    """Import an uploaded report; a bad file stores nothing and the form names its line."""
    form = ImportForm()
    if not form.validate_on_submit():
        return _import_page(form)
    upload = form.file.data
    try:
        imported = service.import_report(
            form.provider.data,
            upload.stream,
            upload.filename or "",
            source="upload",
            actor_id=current_user.id,
        )
    except service.ImportRefused as refused:
        form.file.errors.append(str(refused))
        return _import_page(form)
    if imported.refused is not None:
        form.file.errors.append(_("Nothing was imported: %(reason)s.", reason=imported.refused))
        return _import_page(form)
    if imported.duplicate_of is not None:
        flash(_("This file was imported before; nothing changed."), "info")
        earlier = db.session.get(SettlementFile, imported.duplicate_of)
        batch = _batch_of_file(earlier)
    else:
        flash(_("The report was imported."), "success")
        batch = db.session.get(SettlementBatch, imported.batch_id) if imported.batch_id else None
    return form_done(
        url_for("settlements.detail", settlement_id=batch.id) if batch else url_for("settlements.index")
    )


def _batch_of_file(stored: SettlementFile | None) -> SettlementBatch | None:
    if stored is None or stored.batch_reference is None:
        return None
    return db.session.scalar(
        db.select(SettlementBatch).where(
            SettlementBatch.provider == stored.provider, SettlementBatch.reference == stored.batch_reference
        )
    )


def _note_prefix(result_id: int) -> str:
    # One form per difference on the page: the prefix keeps their fields' ids apart.
    return f"result-{result_id}"


def _note_form(result: SettlementResult) -> NoteForm:
    return NoteForm(formdata=None, prefix=_note_prefix(result.id), data={"note": result.note})


def _detail_context(batch: SettlementBatch, **extra) -> dict:
    shown = differences(db.session, batch.id)
    files = {
        kind: db.session.get(SettlementFile, file_id)
        for kind, file_id in (("details", batch.details_file_id), ("summary", batch.summary_file_id))
        if file_id
    }
    return {
        "batch": batch,
        "provider_label": provider_label(batch.provider),
        "differences": shown,
        "more_differences": len(shown) == DIFFERENCES_SHOWN and batch.difference_count > DIFFERENCES_SHOWN,
        "matched": matched_count(db.session, batch.id),
        "day_scope": batch.scope == Scope.DAY,
        "outcome_words": DAY_OUTCOME_WORDS if batch.scope == Scope.DAY else OUTCOME_WORDS,
        "names": staff_names(
            db.session, [result.resolved_by_id for result in shown if result.resolved_by_id]
        ),
        "files": files,
        # Earlier files of the same name: a corrected file replaced them.
        "replaced": {kind: replaced_files(db.session, file) for kind, file in files.items()},
        "may_resolve": can_open("settlements.note"),
        "note_form_for": _note_form,
        "note_forms": extra.pop("note_forms", {}),
        **extra,
    }


@bp.get("/<int:settlement_id>")
@roles("viewer")
def detail(settlement_id: int):
    """Show a batch: its totals against the summary and every difference, each with its note."""
    batch = db.get_or_404(SettlementBatch, settlement_id)
    return render_page("settlements/batch.html", None, **_detail_context(batch))


@bp.post("/results/<int:result_id>/note")
@roles("finance", "manager")
def note(result_id: int):
    """Keep the note that explains a difference (audited); the batch is resolved once every one has one."""
    result = db.get_or_404(SettlementResult, result_id)
    form = NoteForm(prefix=_note_prefix(result.id))
    if not form.validate_on_submit():
        batch = db.session.get(SettlementBatch, result.batch_id)
        context = _detail_context(batch, note_forms={result.id: form}, result=result)
        return render_form("settlements/batch.html", "note_form", form, **context)
    try:
        service.resolve(result.id, form.note.data, actor_id=current_user.id)
    except service.NotADifference:
        abort(409)
    flash(_("The note was kept."), "success")
    # No #anchor: a location that differs from the page's only by one would not reload it.
    return form_done(url_for("settlements.detail", settlement_id=result.batch_id))


@bp.get("/<int:settlement_id>/differences.csv")
@roles("finance", "manager", "admin")
def differences_csv(settlement_id: int):
    """Download a batch's differences as CSV (formula-safe); the download is audited."""
    batch = db.get_or_404(SettlementBatch, settlement_id)
    service.record_download(batch.id)
    response = Response(stream_with_context(export.difference_lines(db.session, batch)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename(batch)}"'
    response.headers["Cache-Control"] = "no-store"
    return response
