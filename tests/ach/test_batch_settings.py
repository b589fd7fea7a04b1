"""The payroll settings: the largest file read and the largest amount one payee may be paid."""

from __future__ import annotations

import pytest

from dashboard.ach.models import AchBatch
from dashboard.config import ConfigError
from dashboard.config import load_settings
from dashboard.extensions import db
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import stored_counts
from tests.ach.batch_helpers import upload


def test_the_defaults_are_20_mib_and_9999999_99():
    settings = load_settings({}, environ={})
    assert (settings["ACH_MAX_FILE_BYTES"], settings["ACH_MAX_ITEM_AMOUNT"]) == (
        20 * 1024 * 1024,
        999_999_999,
    )


def test_the_largest_amount_is_read_in_major_units_from_the_environment_or_as_minor_units_from_code():
    assert (
        load_settings({}, environ={"ACH_MAX_ITEM_AMOUNT": "250000.50"})["ACH_MAX_ITEM_AMOUNT"] == 25_000_050
    )
    assert load_settings({"ACH_MAX_ITEM_AMOUNT": 25_000_050}, environ={})["ACH_MAX_ITEM_AMOUNT"] == 25_000_050


@pytest.mark.parametrize("value", ["1.001", "0", "-5", "lots"])
def test_an_amount_that_is_not_a_positive_two_decimal_number_stops_start_up(value):
    with pytest.raises(ConfigError, match="ACH_MAX_ITEM_AMOUNT"):
        load_settings({}, environ={"ACH_MAX_ITEM_AMOUNT": value})


def test_the_service_reads_both_settings_at_upload(app, app_ctx, create_user, fake_clock, monkeypatch):
    finance = create_user("finance")
    monkeypatch.setitem(app.config, "ACH_MAX_ITEM_AMOUNT", 100_000)
    uploaded = upload([payee(1), payee(2, amount="999.99")], finance.id)  # row 2 pays 1,001.50
    batch = db.session.get(AchBatch, uploaded.batch_id)
    assert (batch.error_count, batch.total_minor) == (1, 99_999)

    monkeypatch.setitem(app.config, "ACH_MAX_FILE_BYTES", 100)
    refused = upload([payee(3), payee(4)], finance.id)
    assert refused.batch_id is None and refused.refused is not None
    assert stored_counts() == (1, 2)
