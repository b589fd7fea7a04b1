"""Charts drawn on the server as SVG: no script, so the page's CSP stays strict.

Every chart is an image with a title saying what it shows and a description naming its largest
value; each bar carries its value as text, so colour never carries the meaning alone. The figures
themselves are in the section's table beside it, the text alternative screen readers read.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

from markupsafe import Markup

from dashboard.i18n import gettext as _

#: Drawing units of the view box (the SVG scales to its box's width).
_WIDTH = 640
_ROW = 24
_LABEL_WIDTH = 250
_VALUE_WIDTH = 110
_COLUMN_AREA = 160
_AXIS = 34

Number = int | float
ValueLabel = Callable[[Number], str]


def _figure(chart_id: str, title: str, summary: str, height: int, body: Markup) -> Markup:
    return Markup(
        '<figure class="chart" id="{id}"><figcaption class="chart-caption">{title}</figcaption>'
        '<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-title {id}-desc"'
        ' class="chart-svg" preserveAspectRatio="xMinYMin meet">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{summary}</desc>{body}</svg></figure>'
    ).format(id=chart_id, width=_WIDTH, height=height, title=title, summary=summary, body=body)


def _summary(points: Sequence[tuple[str, Number]], value_label: ValueLabel) -> str:
    if not points or not any(value for _, value in points):
        return _("Nothing in this range.")
    label, value = max(points, key=lambda point: point[1])
    return _(
        "%(count)s bars; the largest is %(label)s: %(value)s.",
        count=len(points),
        label=label,
        value=value_label(value),
    )


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, Number]],
    *,
    chart_id: str,
    value_label: ValueLabel = str,
) -> Markup:
    """Draw one horizontal bar per label (codes, providers, wallets), its value written after it."""
    largest = max((value for _, value in bars), default=0) or 1
    room = _WIDTH - _LABEL_WIDTH - _VALUE_WIDTH
    rows = []
    for index, (label, value) in enumerate(bars):
        y = index * _ROW
        length = max(round(room * value / largest), 1 if value else 0)
        rows.append(
            Markup(
                '<g class="chart-row"><text x="{label_x}" y="{text_y}" class="chart-label" text-anchor="end">'
                "{label}</text>"
                '<rect x="{bar_x}" y="{bar_y}" width="{length}" height="{thickness}" class="chart-bar"/>'
                '<text x="{value_x}" y="{text_y}" class="chart-value">{value}</text></g>'
            ).format(
                label_x=_LABEL_WIDTH - 8,
                text_y=y + 16,
                label=_shorten(label, 34),
                bar_x=_LABEL_WIDTH,
                bar_y=y + 4,
                length=length,
                thickness=_ROW - 8,
                value_x=_LABEL_WIDTH + length + 6,
                value=value_label(value),
            )
        )
    if not bars:
        rows.append(
            Markup('<text x="0" y="16" class="chart-empty">{}</text>').format(_("Nothing in this range."))
        )
    height = max(len(bars), 1) * _ROW + 4
    return _figure(chart_id, title, _summary(bars, value_label), height, Markup("").join(rows))


def column_chart(
    title: str,
    columns: Sequence[tuple[str, Number]],
    *,
    chart_id: str,
    value_label: ValueLabel = str,
) -> Markup:
    """Draw one column per period (days or hours), oldest first, with the largest value on the axis.

    Only some periods are named under the axis when there are many; every column has a tooltip.
    """
    largest = max((value for _, value in columns), default=0)
    scale = largest or 1
    slot = (_WIDTH - _VALUE_WIDTH) / max(len(columns), 1)
    every = max(1, round(len(columns) / 8))
    right = _WIDTH - _VALUE_WIDTH
    parts = [
        Markup('<text x="{x}" y="12" class="chart-value">{value}</text>').format(
            x=right + 6, value=value_label(largest)
        ),
        Markup('<line x1="0" y1="{y}" x2="{x}" y2="{y}" class="chart-axis"/>').format(
            x=right, y=_COLUMN_AREA
        ),
    ]
    for index, (label, value) in enumerate(columns):
        height = round(_COLUMN_AREA * value / scale, 1)
        x = round(index * slot, 1)
        parts.append(
            Markup(
                '<rect x="{x}" y="{y}" width="{width:.1f}" height="{height}" class="chart-bar">'
                "<title>{label}: {value}</title></rect>"
            ).format(
                x=x + 1,
                y=_COLUMN_AREA - height,
                width=max(slot - 2, 1),
                height=height,
                label=label,
                value=value_label(value),
            )
        )
        if index % every == 0:
            parts.append(
                Markup('<text x="{x}" y="{y}" class="chart-tick">{label}</text>').format(
                    x=x, y=_COLUMN_AREA + 16, label=_shorten(label, 12)
                )
            )
    return _figure(
        chart_id, title, _summary(columns, value_label), _COLUMN_AREA + _AXIS, Markup("").join(parts)
    )


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
