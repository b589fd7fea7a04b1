"""HK ACH submit against the simulator over real HTTP: local validation (nothing sent), the
x-Message-Id, the JWE(JWS(JSON)) body read back with the JOSE library directly, the bank's own
validation kept as RJCT with its EC004 code, duplicates, and the 1,000-item boundary."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from joserfc import jwe
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import RSAKey
from sqlalchemy import func
from sqlalchemy import select

from dashboard.money import Money
from dashboard.providers.base import CallOutcome
from dashboard.providers.hkach import HkachRejected
from dashboard.providers.hkach import InvalidBatch
from dashboard.providers.hkach import PaymentStatus
from dashboard.providers.hkach import new_message_id
from dashboard.providers.hkach.mapping import build_payload
from dashboard.providers.hkach.settings import from_app
from dashboard.sandbox.store import HkachBatch
from tests.sandbox.hkach_helpers import RecordingSession
from tests.sandbox.hkach_helpers import batch
from tests.sandbox.hkach_helpers import raw_submit
from tests.sandbox.hkach_helpers import transfer


def batches_received(sandbox) -> int:
    with sandbox.sandbox.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(HkachBatch))


def test_a_message_id_is_a_fresh_lower_case_uuid():
    ids = {new_message_id() for _ in range(50)}
    assert len(ids) == 50 and all(len(i) == 36 and i == i.lower() for i in ids)


def test_a_batch_goes_as_jwe_of_jws_of_the_contract_json_and_is_received(sandbox, fake_clock):
    session = RecordingSession()
    client = from_app(sandbox.app, session=session)
    message_id = new_message_id()
    result = client.submit(batch(), message_id)

    assert result.record.status == 201 and result.transaction_status == "RCVD"
    assert result.outcome is CallOutcome.UNKNOWN and result.message_id == message_id
    assert result.request_key and result.location.endswith(f"/payments/{message_id}")
    sent = session.sent[-1]
    assert sent.headers["x-Message-Id"] == message_id and sent.headers["apikey"]
    assert sent.headers["Authorization"].startswith("Bearer ")
    body = json.loads(sent.body)
    assert list(body) == ["secured_payload"]
    keys = sandbox.sandbox.hkach_keys
    bank, customer = RSAKey.import_key(keys.bank.private_pem), RSAKey.import_key(keys.customer.private_pem)
    registry = jwe.JWERegistry()
    registry.max_ciphertext_length = 1 << 22
    decrypted = jwe.decrypt_compact(body["secured_payload"], bank, registry=registry)
    assert decrypted.protected["alg"] == "RSA-OAEP" and decrypted.protected["enc"] == "A256CBC-HS512"
    verified = jws.deserialize_compact(decrypted.plaintext, customer)
    assert verified.protected["alg"] == "RS256"
    payload = json.loads(verified.payload)
    assert payload["number_of_transactions"] == "3" and payload["control_sum"] == "30000.06"
    (information,) = payload["payment_information"]
    assert (
        information["requested_execution_date"] == "2026-01-05" and information["category_purpose"] == "SALA"
    )
    first = information["credit_transfer_transaction_information"][0]
    assert first["instructed_amount"] == {"amount": "10000.01", "currency": "HKD"}
    assert first["creditor_agent_member_identification"] == "004002"
    assert first["creditor_account_identification"] == "123456781"
    assert first["remittance_information_unstructured"] == ["SALARY JAN 2026"]
    # The call record keeps no account number beyond its last 4 digits.
    assert "123456781" not in result.record.request_body and "*****6781" in result.record.request_body
    assert "secured_payload" not in (result.record.request_body or "")


def test_a_tampered_payload_is_refused_by_the_library_and_by_the_bank(sandbox, hkach, fake_clock):
    session = RecordingSession()
    client = from_app(sandbox.app, session=session)
    client.submit(batch(), new_message_id())
    token = json.loads(session.sent[-1].body)["secured_payload"]
    parts = token.split(".")
    parts[3] = parts[3][:10] + ("A" if parts[3][10] != "A" else "B") + parts[3][11:]
    broken = ".".join(parts)
    bank = RSAKey.import_key(sandbox.sandbox.hkach_keys.bank.private_pem)
    with pytest.raises(Exception):  # noqa: B017 - any JOSE refusal will do
        jwe.decrypt_compact(broken, bank)
    signed = jwe.decrypt_compact(token, bank).plaintext
    with pytest.raises(BadSignatureError):
        jws.deserialize_compact(signed, RSAKey.generate_key(2048))

    message_id = new_message_id()
    answer = raw_submit(
        sandbox.sandbox.hkach.base_url,
        client.access_token(),
        sandbox.sandbox.hkach.api_key,
        message_id,
        {"secured_payload": broken},
    )
    assert answer.status_code == 201 and answer.json() == {"transaction_status": "RJCT"}
    status = client.status(message_id)
    assert status.group_status is PaymentStatus.REJECTED and status.reason_code == "TD03"
    assert status.event_code == "EC004_103" and status.outcome is CallOutcome.FAILED


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (batch(batch_id="P" * 21), "EC004_205"),
        (batch(transfer(1, instruction_id="I" * 21)), "EC004_305"),
        (batch(transfer(1), transfer(2, instruction_id="INS-1")), "EC004_303"),
        (batch(transfer(1), transfer(2, amount=Money(100, "CNY"))), "EC004_203"),
        (batch(transfer(1, amount=Money(100, "USD"))), "EC004_302"),
        (batch(transfer(1, creditor_name=" ")), "EC004_306"),
        (batch(transfer(1, branch_code="02")), "RC08"),
        (batch(transfer(1, account_number="123-456")), "AC01"),
        (batch(*(transfer(n) for n in range(1, 1002))), "EC004_202"),
    ],
)
def test_a_batch_the_bank_would_refuse_is_never_sent(sandbox, hkach, bad, code):
    with pytest.raises(InvalidBatch) as refused:
        hkach.submit(bad, new_message_id())
    assert refused.value.code == code and refused.value.record is None
    assert batches_received(sandbox) == 0


def test_a_thousand_items_go_in_one_batch_and_settle(sandbox, hkach, fake_clock):
    big = batch(*(transfer(n, instruction_id=f"I{n}", end_to_end_id=f"E{n}") for n in range(1, 1001)))
    message_id = new_message_id()
    assert hkach.submit(big, message_id).transaction_status == "RCVD"
    fake_clock.advance(seconds=1)
    status = hkach.status(message_id)
    assert status.group_status is PaymentStatus.SETTLED and len(status.items) == 1000


def test_the_same_message_id_again_means_already_received(sandbox, hkach):
    message_id = new_message_id()
    hkach.submit(batch(), message_id)
    again = hkach.submit(batch(), message_id)
    assert again.already_received and again.result_code == "EC004_102" and again.record.status == 400
    assert batches_received(sandbox) == 1


def test_a_batch_id_used_before_is_rejected_with_du02(sandbox, hkach, fake_clock):
    hkach.submit(batch(), new_message_id())
    second = new_message_id()
    answer = hkach.submit(batch(), second)
    assert answer.transaction_status == "RJCT" and answer.outcome is CallOutcome.FAILED
    status = hkach.status(second)
    assert (status.reason_code, status.event_code) == ("DU02", "EC004_204")


def plain(hkach, **changes):
    """The contract JSON of the default batch, as the client would build it, with changes."""
    payload = build_payload(
        batch(),
        debtor_name=hkach.debtor_name,
        debtor_account=hkach.debtor_account,
        created_at=changes.pop("created_at"),
    )
    payload.update(changes)
    return payload


@pytest.mark.parametrize(
    ("changes", "reason", "code"),
    [
        ({"control_sum": "1.00"}, "AM10", "EC004_108"),
        ({"number_of_transactions": "4"}, "AM18", "EC004_109"),
        ({"creation_date_time": "2026-01-03T00:00:00Z"}, "DT02", "EC004_106"),
        ({"initiating_party_name": None}, "TD03", "EC004_104"),
    ],
)
def test_plain_json_is_accepted_and_the_bank_validates_it(sandbox, hkach, fake_clock, changes, reason, code):
    good_id, bad_id = new_message_id(), new_message_id()
    settings = sandbox.sandbox.hkach
    token = hkach.access_token()
    good = plain(hkach, created_at=fake_clock.now())
    assert (
        raw_submit(settings.base_url, token, settings.api_key, good_id, good).json()["transaction_status"]
        == "RCVD"
    )
    payload = plain(hkach, created_at=fake_clock.now(), **changes)
    payload["payment_information"][0]["payment_information_identification"] = "OTHER-BATCH"
    answer = raw_submit(settings.base_url, token, settings.api_key, bad_id, payload)
    assert answer.status_code == 201 and answer.json()["transaction_status"] == "RJCT"
    status = hkach.status(bad_id)
    assert (status.group_status, status.reason_code, status.event_code) == (
        PaymentStatus.REJECTED,
        reason,
        code,
    )


def test_two_payment_informations_are_refused_with_bc01(sandbox, hkach, fake_clock):
    payload = plain(hkach, created_at=fake_clock.now())
    payload["payment_information"] *= 2
    settings, message_id = sandbox.sandbox.hkach, new_message_id()
    raw_submit(settings.base_url, hkach.access_token(), settings.api_key, message_id, payload)
    assert hkach.status(message_id).event_code == "EC004_107"


def test_http_level_refusals(sandbox, hkach, fake_clock):
    settings, token = sandbox.sandbox.hkach, hkach.access_token()
    payload = plain(hkach, created_at=fake_clock.now())
    no_id = raw_submit(settings.base_url, token, settings.api_key, "", payload)
    upper = raw_submit(settings.base_url, token, settings.api_key, new_message_id().upper(), payload)
    no_key = raw_submit(settings.base_url, token, "", new_message_id(), payload)
    garbage = raw_submit(settings.base_url, token, settings.api_key, new_message_id(), {"secured_payload": 7})
    assert [a.status_code for a in (no_id, upper, no_key, garbage)] == [400, 400, 401, 400]
    assert no_id.json()["status"]["code"] == "EC004_101" and garbage.json()["status"]["code"] == "EC000_007"
    correlation = new_message_id()
    echoed = raw_submit(
        settings.base_url,
        token,
        settings.api_key,
        new_message_id(),
        payload,
        **{"x-Correlation-Id": correlation},
    )
    assert echoed.headers["x-Correlation-Id"] == correlation and echoed.headers["x-RequestKey"]
    assert batches_received(sandbox) == 1


def test_a_message_id_that_is_not_a_lower_case_uuid_is_refused_before_sending(hkach):
    with pytest.raises(ValueError, match="lower-case UUID"):
        hkach.submit(batch(), new_message_id().upper())
    assert replace(transfer(), bank_code="024").member_id == "024002"


def test_with_the_400_switch_a_batch_failing_validation_is_refused_and_not_kept(
    sandbox, hkach, fake_clock, monkeypatch
):
    monkeypatch.setitem(sandbox.sandbox.options, "SANDBOX_HKACH_REJECT_WITH_400", True)
    hkach.submit(batch(), new_message_id())
    message_id = new_message_id()
    with pytest.raises(HkachRejected) as refused:
        hkach.submit(batch(), message_id)
    assert (refused.value.status, refused.value.code) == (400, "EC004_204")
    assert hkach.status(message_id).never_received and batches_received(sandbox) == 1


def test_the_bank_itself_rejects_1001_items_with_tc01(sandbox, hkach, fake_clock):
    too_big = batch(*(transfer(n, instruction_id=f"I{n}", end_to_end_id=f"E{n}") for n in range(1, 1002)))
    payload = build_payload(
        too_big,
        debtor_name=hkach.debtor_name,
        debtor_account=hkach.debtor_account,
        created_at=fake_clock.now(),
    )
    settings, message_id = sandbox.sandbox.hkach, new_message_id()
    answer = raw_submit(settings.base_url, hkach.access_token(), settings.api_key, message_id, payload)
    assert answer.status_code == 201 and answer.json()["transaction_status"] == "RJCT"
    status = hkach.status(message_id)
    assert (status.group_status, status.reason_code, status.event_code) == (
        PaymentStatus.REJECTED,
        "TC01",
        "EC004_202",
    )
