"""Every code a provider can leave on a payment, refund, cancel or agreement has guidance for staff:
what it means and what to do next, looked up through the registry as the pages do."""

from __future__ import annotations

import pytest

from dashboard.providers.antom.consts import PAY_RESULT_CODES
from dashboard.providers.antom.consts import RESULT_CODES
from dashboard.providers.antom.consts import DisputeJudgedResult
from dashboard.providers.antom.consts import DisputeNotificationType
from dashboard.providers.antom.consts import Operation
from dashboard.providers.antom.guidance import GUIDANCE as ANTOM_GUIDANCE
from dashboard.providers.guidance import About
from dashboard.providers.registry import CODES
from dashboard.providers.registry import guidance
from dashboard.providers.registry import provider
from dashboard.providers.worldpay import consts as wp
from dashboard.providers.worldpay.guidance import GUIDANCE as WORLDPAY_GUIDANCE
from dashboard.providers.worldpay.mapping import REFUND_MEANINGS
from tests.providers.antom.test_antom_client import SEED_PAY_TABLE

#: What an Antom API's result code is kept on.
ANTOM_KEPT_ON = {
    Operation.CONSULT: About.AGREEMENT,
    Operation.APPLY_TOKEN: About.AGREEMENT,
    Operation.REVOKE: About.AGREEMENT,
    Operation.PAY: About.PAYMENT,
    Operation.INQUIRY_PAYMENT: About.PAYMENT,
    Operation.CANCEL: About.CANCEL,
    Operation.REFUND: About.REFUND,
    Operation.INQUIRY_REFUND: About.REFUND,
    Operation.DECLARE: About.DECLARATION,
    Operation.INQUIRY_DECLARATION: About.DECLARATION,
}


def without_guidance(provider_code: str, codes, about: About) -> list[str]:
    return sorted(str(code) for code in codes if guidance(provider_code, str(code), about) is None)


def test_every_antom_api_code_has_guidance_on_what_it_is_kept_on():
    assert set(ANTOM_KEPT_ON) == set(Operation)
    missing = {
        str(operation): without_guidance("antom", RESULT_CODES[operation], ANTOM_KEPT_ON[operation])
        for operation in Operation
    }
    assert {operation: codes for operation, codes in missing.items() if codes} == {}


def test_all_37_codes_of_the_seed_pay_table_have_guidance_on_a_payment():
    seed_codes = [code for code, _ in SEED_PAY_TABLE]
    assert len(seed_codes) == 37 and set(seed_codes) == set(PAY_RESULT_CODES)
    assert without_guidance("antom", seed_codes, About.PAYMENT) == []


def test_every_dispute_step_antom_reports_has_guidance_on_the_payment():
    steps = [*DisputeNotificationType, *DisputeJudgedResult]
    assert without_guidance("antom", steps, About.PAYMENT) == []


def test_the_applytoken_codes_have_guidance_on_the_agreement_they_would_fail():
    for code in (
        "INVALID_CODE",
        "USED_CODE",
        "EXPIRED_CODE",
        "INVALID_REFRESH_TOKEN",
        "EXPIRED_REFRESH_TOKEN",
    ):
        assert "authoris" in guidance("antom", code, About.AGREEMENT).next_step


def test_every_worldpay_event_has_guidance_on_a_payment():
    assert without_guidance("worldpay", wp.EventName, About.PAYMENT) == []


def test_every_worldpay_error_name_has_guidance_on_a_payment_and_a_refund():
    assert without_guidance("worldpay", wp.ErrorName, About.PAYMENT) == []
    assert without_guidance("worldpay", wp.ErrorName, About.REFUND) == []


def test_worldpay_refund_events_read_as_the_refunds_own_story_on_a_refund():
    for event in REFUND_MEANINGS:
        on_refund = guidance("worldpay", event, About.REFUND)
        assert on_refund is not None and on_refund != guidance("worldpay", event, About.PAYMENT)


def test_the_refund_endings_read_from_worldpays_records_and_our_own_codes_have_guidance():
    ours = [wp.REVERSAL_NOT_OFFERED, wp.RESOLVED_FROM_RECORDS, wp.NO_FINAL_EVENT]
    assert without_guidance("worldpay", [*wp.QUERY_REFUND_FAILURES, *ours], About.REFUND) == []


def test_a_worldpay_event_and_an_error_never_share_a_name():
    # Both are looked up in one general table: a shared name would hide one of them.
    assert not {str(name) for name in wp.EventName} & {str(name) for name in wp.ErrorName}


@pytest.mark.parametrize("table", [ANTOM_GUIDANCE, WORLDPAY_GUIDANCE], ids=["antom", "worldpay"])
def test_every_row_says_what_happened_and_what_to_do_in_whole_sentences(table):
    rows = [
        *table.general.items(),
        *((code, row) for rows in table.specific.values() for code, row in rows.items()),
    ]
    for code, row in rows:
        for text in (row.meaning, row.next_step):
            assert text[:1].isupper() and text.endswith("."), (code, text)
            assert "{" not in text and "  " not in text, (code, text)


def test_every_registered_provider_has_guidance():
    sample = {"antom": "SUCCESS", "worldpay": "refused", "hkach": "RJCT"}
    assert set(sample) == set(CODES)
    assert all(provider(code).guidance(sample[code], None) for code in CODES)


def test_the_same_code_can_mean_something_else_on_a_cancel():
    on_cancel = guidance("antom", "PROCESS_FAIL", About.CANCEL)
    assert "already has a refund" in on_cancel.meaning
    assert on_cancel != guidance("antom", "PROCESS_FAIL", About.PAYMENT)


@pytest.mark.parametrize(
    ("provider_code", "code", "about"),
    [
        ("antom", "NOT_A_CODE", "payment"),
        ("antom", None, "payment"),
        ("antom", "", "refund"),
        ("hkach", "SUCCESS", "payment"),
        (None, "SUCCESS", None),
    ],
)
def test_an_unknown_code_or_provider_has_no_guidance_and_never_raises(provider_code, code, about):
    assert guidance(provider_code, code, about) is None


def test_an_unknown_kind_of_object_falls_back_to_the_general_row():
    assert guidance("antom", "USER_BALANCE_NOT_ENOUGH", "invoice") == guidance(
        "antom", "USER_BALANCE_NOT_ENOUGH", About.PAYMENT
    )
