"""The README's storefront API walk-through, run as written with curl and jq against a served
sandbox; the test plays the customer, the shopper and the approving manager between the steps.

The text lives in ``notes/README-api.md`` until it joins README.md (then point :data:`README` there).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dashboard.payments.refunds import approve_refund
from dashboard.users import service as users
from tests.api.conftest import Storefront
from tests.conftest import TEST_PASSWORD
from tests.conftest import environ_without_app_settings
from tests.sandbox import worldpay_helpers as wh
from tests.sandbox.helpers import answer_consent

README = Path(__file__).resolve().parents[2] / "notes" / "README-api.md"


def blocks(language: str) -> list[str]:
    """Return the code blocks of the walk-through: the "Storefront API" section before its first
    subsection (the same whether the text is in the note or in README.md)."""
    section = README.read_text().split("\n## Storefront API\n", 1)[1]
    walk_through = re.split(r"\n##+ ", section, maxsplit=1)[0]
    return re.findall(rf"```{language}\n(.*?)```", walk_through, re.S)


def run(block: str, folder: Path, base_url: str, secret: str) -> str:
    environ = environ_without_app_settings(BO_API=base_url + "/api/v1", BO_API_KEY=secret)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"{block}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_readme_curl_walk_through_works_as_written(sandboxed, make_key, fake_clock, tmp_path):
    missing = [tool for tool in ("curl", "jq") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{' and '.join(missing)} missing: apt-get install -y curl jq (the README uses them)")
    secret = make_key(on=sandboxed.app)
    setup, *steps = blocks("sh")
    assert setup.startswith("export BO_API=") and len(steps) == 9

    def step(number: int) -> list[str]:
        return run(steps[number], tmp_path, sandboxed.url, secret).splitlines()

    [authorization_url] = step(0)
    assert answer_consent(authorization_url).status_code == 303  # the customer approves
    sandboxed.settle()
    assert step(1) == ["active"]
    assert step(2) == ["succeeded"]
    [redirect_url] = step(3)
    assert wh.choose(redirect_url, "capture").status_code == 303  # the shopper pays
    fake_clock.advance(seconds=1)
    sandboxed.settle()
    assert step(4) == ["settled"]
    assert step(5) == ["succeeded", "awaiting_approval"]
    *feed, unread = step(6)
    charge_id = json.loads((tmp_path / "charge.json").read_text())["id"]
    assert f"payment {charge_id} succeeded" in feed and unread == "0"

    manager = users.create_user(
        "mei@staff.example", "Mei", "manager", TEST_PASSWORD, must_change_password=False
    )
    approve_refund(json.loads((tmp_path / "large_refund.json").read_text())["id"], actor_id=manager.id)
    sandboxed.settle()
    assert step(7) == ["succeeded", "revoked"]

    replayed, refused = step(8)
    assert replayed.lower().strip() == "idempotent-replayed: true"
    [shown] = blocks("json")
    assert json.loads(refused) == json.loads(shown)
    shop = Storefront(None, secret, base_url=sandboxed.url)
    assert len(shop.get("/payments", provider="antom").get_json()["data"]) == 1  # the replay charged nothing
