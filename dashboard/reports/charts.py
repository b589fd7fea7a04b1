"""Charts drawn on the server as SVG: no script, so the page's CSP stays strict.

Every chart is an image with a title saying what it shows and a description naming its largest
value; each bar carries its value as text, so colour never carries the meaning alone. The figures
themselves are in the section's table beside it, the text alternative screen readers read.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence

from markupsafe import Markup
from markupsafe import escape

#: Drawing units of the view box (the SVG scales to its box's width).
_WIDTH = 640
_ROW = 24
_LABEL_WIDTH = 200
_VALUE_WIDTH = 110
_COLUMN_AREA = 160
_AXIS = 34

Number = int | float
ValueLabel = Callable[[Number], str]


def _figure(chart_id: str, title: str, summary: str, height: int, body: str) -> Markup:
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    return Markup(
        f'<figure class="chart" id="{escape(chart_id)}">'
        f'<svg viewBox="0 0 {_WIDTH} {height}" role="img" aria-labelledby="{escape(title_id)} {escape(desc_id)}"'
        f' class="chart-svg" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{escape(title_id)}">{escape(title)}</title>'
        f'<desc id="{escape(desc_id)}">{escape(summary)}</desc>'
        f"{body}</svg>"
        f'<figcaption class="chart-caption">{escape(title)}</figcaption></figure>'
    )


def _summary(points: Sequence[tuple[str, Number]], value_label: ValueLabel) -> str:
    if not points or not any(value for _, value in points):
        return "Nothing in this range."
    label, value = max(points, key=lambda point: point[1])
    return f"{len(points)} bars; the largest is {label}: {value_label(value)}."


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
            f'<g class="chart-row"><text x="{_LABEL_WIDTH - 8}" y="{y + 16}" class="chart-label"'
            f' text-anchor="end">{escape(_shorten(label, 28))}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y + 4}" width="{length}" height="{_ROW - 8}" class="chart-bar"/>'
            f'<text x="{_LABEL_WIDTH + length + 6}" y="{y + 16}" class="chart-value">'
            f"{escape(value_label(value))}</text></g>"
        )
    if not bars:
        rows.append(f'<text x="0" y="16" class="chart-empty">{escape("Nothing in this range.")}</text>')
    height = max(len(bars), 1) * _ROW + 4
    return _figure(chart_id, title, _summary(bars, value_label), height, "".join(rows))


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
    parts = [
        f'<text x="{_WIDTH - _VALUE_WIDTH + 6}" y="12" class="chart-value">{escape(value_label(largest))}</text>',
        f'<line x1="0" y1="{_COLUMN_AREA}" x2="{_WIDTH - _VALUE_WIDTH}" y2="{_COLUMN_AREA}" class="chart-axis"/>',
    ]
    for index, (label, value) in enumerate(columns):
        height = round(_COLUMN_AREA * value / scale, 1)
        x = round(index * slot, 1)
        parts.append(
            f'<rect x="{x + 1}" y="{_COLUMN_AREA - height}" width="{max(slot - 2, 1):.1f}" height="{height}"'
            f' class="chart-bar"><title>{escape(label)}: {escape(value_label(value))}</title></rect>'
        )
        if index % every == 0:
            parts.append(
                f'<text x="{x}" y="{_COLUMN_AREA + 16}" class="chart-tick">{escape(_shorten(label, 12))}</text>'
            )
    return _figure(chart_id, title, _summary(columns, value_label), _COLUMN_AREA + _AXIS, "".join(parts))


def _shorten(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"
