"""Templates and static files keep to the CSP: no inline script, no handlers, vendored htmx pinned.

A JSON data block (``<script type="application/json">``, never run) may carry values for app.js.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
HANDLER = re.compile(r"<[^>]*\s(on[a-z]+)\s*=", re.I)


def test_there_are_templates_to_scan():
    assert len(TEMPLATES) >= 5


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: str(path.relative_to(ROOT / "templates")))
def test_template_has_no_inline_script_or_event_handler(template):
    text = template.read_text()
    for attributes, body in SCRIPT.findall(text):
        if 'type="application/json"' in attributes:
            assert re.fullmatch(r"\{\{[^{}]*\|tojson \}\}", body), (
                f"data block not a JSON value in {template.name}"
            )
            continue
        assert not body.strip(), f"inline script in {template.name}"
        assert "src=" in attributes, f"script without src in {template.name}"
    assert HANDLER.findall(text) == []
    assert "javascript:" not in text.lower()
    assert "hx-on" not in text.lower()  # htmx inline handlers need eval


def test_base_layout_loads_only_local_scripts():
    text = (ROOT / "templates" / "base.html").read_text()
    scripts = [script for script in SCRIPT.findall(text) if 'type="application/json"' not in script[0]]
    assert scripts
    for attributes, _ in scripts:
        src = re.search(r'src="([^"]+)"', attributes).group(1)
        assert src.startswith("{{ url_for('static'"), src


def test_base_layout_served_scripts_point_at_static(client):
    page = client.get("/login").get_data(as_text=True)
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert sources and all(source.startswith("/static/") for source in sources)
    for source in sources:
        response = client.get(source)
        response.close()
        assert response.status_code == 200


def test_vendored_htmx_matches_the_recorded_hash():
    readme = (ROOT / "static" / "vendor" / "README.md").read_text()
    row = re.search(r"`(htmx-[\d.]+\.min\.js)`.*?`([0-9a-f]{64})`", readme)
    assert row, "README.md does not record the htmx file and hash"
    name, recorded = row.groups()
    actual = hashlib.sha256((ROOT / "static" / "vendor" / name).read_bytes()).hexdigest()
    assert actual == recorded


def test_the_page_gives_app_js_its_words_in_the_page_language(client):
    english = client.get("/login").get_data(as_text=True)
    chinese = client.get("/login", headers={"Accept-Language": "zh-HK"}).get_data(as_text=True)
    said = re.compile(r'<script type="application/json" id="ui-text">(.*?)</script>', re.S)
    assert json.loads(said.search(english).group(1))["copied"] == "Copied"
    assert json.loads(said.search(chinese).group(1))["copied"] == "已複製"
