"""The manager's report: the page of filters, each section as its own fragment, each table as CSV."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import request

from dashboard import clock
from dashboard.auth.access import roles
from dashboard.errors import render_error
from dashboard.events.service import latest_event_id
from dashboard.extensions import db
from dashboard.htmx import render_page
from dashboard.i18n import gettext as _
from dashboard.i18n import in_language
from dashboard.listing import fields_to_refresh
from dashboard.listing import filter_args
from dashboard.listing import filter_problems
from dashboard.reports.forms import ReportFilterForm
from dashboard.reports.sections import SECTIONS
from dashboard.reports.sections import section_named
from dashboard.reports.service import record_download
from dashboard.reports.tables import csv_text
from dashboard.reports.tables import html_cell
from dashboard.reports.tables import is_number
from dashboard.reports.tables import table_named
from dashboard.users.models import Role

bp = Blueprint("reports", __name__, url_prefix="/reports")

#: Who reads the report: managers decide from it; admins and viewers may read it.
READERS = (Role.MANAGER, Role.ADMIN, Role.VIEWER)

#: A section refreshes at most this often while events arrive (ms).
LIVE_EVERY_MS = 5000


@bp.app_template_filter("report_cell")
def report_cell(value):
    """Show a report table's cell (see :func:`html_cell`)."""
    return html_cell(value, ZoneInfo(current_app.config["DISPLAY_TIMEZONE"]))


bp.add_app_template_filter(is_number, "report_number")


@bp.get("")
@roles(*READERS, inherit=False)
def index():
    """Show the filters and a place for each section, which loads on its own."""
    form = ReportFilterForm(request.args)
    filters = form.filters()
    return render_page(
        "reports/index.html",
        "results",
        form=form,
        filters=filters,
        sections=SECTIONS,
        refreshed_fields=fields_to_refresh(form),
    )


@bp.get("/<name>")
@roles(*READERS, inherit=False)
def section(name: str):
    """Show one section's figures for the filters (for htmx, the section alone)."""
    shown = section_named(name) or abort(404)
    form = ReportFilterForm(request.args)
    filters = form.filters()
    if filters is None:
        return render_page(
            "reports/index.html", "results", status=422, form=form, filters=None, sections=SECTIONS
        )
    cursor = latest_event_id(db.session)
    figures = shown.figures(db.session, filters)
    return render_page(
        "reports/index.html",
        "section",
        form=form,
        filters=filters,
        sections=SECTIONS,
        section=shown,
        shown=shown.name,
        figures=figures,
        tables=shown.tables(figures),
        latest_event_id=cursor,
        live_every=LIVE_EVERY_MS,
    )


@bp.get("/<name>/<table>.csv")
@roles(*READERS, inherit=False)
def table_csv(name: str, table: str):
    """Download one of a section's tables for the filters; the download is audited."""
    shown = section_named(name) or abort(404)
    form = ReportFilterForm(request.args)
    filters = form.filters()
    if filters is None:
        problems = filter_problems(form)
        return render_error(
            422,
            _(
                "Nothing was downloaded, because the filters have a problem (%(problems)s).",
                problems=problems,
            ),
        )
    zone = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    with in_language("en"):  # a download is read by spreadsheets and scripts: English throughout
        wanted = table_named(shown.tables(shown.figures(db.session, filters)), table) or abort(404)
        text = csv_text(wanted, zone)
    record_download(db.session, name, table, filter_args(request.args))
    response = Response(text, mimetype="text/csv")
    day = clock.now().astimezone(zone)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="report-{name}-{table}-{filters.range.first_day}-{filters.range.last_day}'
        f'-{day:%Y%m%d}.csv"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response
