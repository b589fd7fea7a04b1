"""Authorization life cycle against the simulator over HTTP: consult, stand-in page, tokens."""

from __future__ import annotations

from datetime import timedelta

import requests

from dashboard.providers.antom import ApplyTokenRequest
from dashboard.providers.base import CallOutcome
from dashboard.sandbox.core import add_switch
from dashboard.sandbox.store import transaction
from tests.sandbox import helpers


def test_consult_answers_a_one_time_link_to_the_stand_in_page(sandbox, antom):
    consulted = helpers.consult(antom, sandbox.url)

    assert consulted.outcome is CallOutcome.SUCCEEDED
    assert consulted.normal_url.startswith(f"{sandbox.url}/sandbox/antom/authorize/")
    page = requests.get(consulted.normal_url, timeout=5)
    assert page.status_code == 200
    assert "Approve" in page.text and "ALIPAY_HK" in page.text


def test_approve_redirects_with_auth_code_and_notifies_authcode_created(sandbox, antom, run_due):
    code, state = helpers.authorize(antom, sandbox.url)

    run_due()
    [notice] = sandbox.receiver.received
    assert notice.json["authorizationNotifyType"] == "AUTHCODE_CREATED"
    assert notice.json["authCode"] == code
    assert notice.json["authState"] == state
    assert antom.verify_notification(notice.headers, notice.body, path="/webhooks/antom")


def test_with_no_notification_on_authorize_only_the_redirect_carries_the_code(sandbox, antom, run_due):
    with transaction(sandbox.sandbox.engine) as session:
        add_switch(session, "no_notification", "authorize")

    code, state = helpers.authorize(antom, sandbox.url)

    assert code and state
    assert run_due() == 0 and sandbox.receiver.received == []
    # The code works all the same: the redirect is all the merchant needs.
    exchanged = antom.apply_token(ApplyTokenRequest.for_auth_code(helpers.WALLET, code))
    assert exchanged.outcome is CallOutcome.SUCCEEDED


def test_the_link_works_once_and_decline_sends_nothing(sandbox, antom, run_due):
    consulted = helpers.consult(antom, sandbox.url)

    declined = helpers.answer_consent(consulted.normal_url, "decline")
    with requests.Session() as browser:
        page = browser.get(consulted.normal_url, timeout=5)
        csrf = helpers._CSRF.search(browser.get(f"{sandbox.url}/sandbox/", timeout=5).text).group(1)
        again = browser.post(
            consulted.normal_url, data={"csrf_token": csrf, "decision": "approve"}, timeout=5
        )

    assert declined.status_code == 200 and "You declined" in declined.text
    assert "already used" in page.text and "Approve</button>" not in page.text
    assert again.status_code == 410
    assert run_due() == 0


def test_auth_code_is_single_use(sandbox, antom):
    code, _ = helpers.authorize(antom, sandbox.url)

    first = antom.apply_token(ApplyTokenRequest.for_auth_code(helpers.WALLET, code))
    second = antom.apply_token(ApplyTokenRequest.for_auth_code(helpers.WALLET, code))

    assert first.outcome is CallOutcome.SUCCEEDED and first.access_token and first.refresh_token
    assert first.access_token_expiry_time - first.refresh_token_expiry_time < timedelta(0)
    assert (second.outcome, second.result_code) == (CallOutcome.FAILED, "USED_CODE")


def test_auth_code_expires_after_ten_minutes(sandbox, antom, fake_clock):
    code, _ = helpers.authorize(antom, sandbox.url)
    fake_clock.advance(minutes=10, seconds=1)

    result = antom.apply_token(ApplyTokenRequest.for_auth_code(helpers.WALLET, code))

    assert (result.outcome, result.result_code) == (CallOutcome.FAILED, "EXPIRED_CODE")


def test_unknown_auth_code_and_wrong_wallet_are_refused(sandbox, antom):
    code, _ = helpers.authorize(antom, sandbox.url)

    unknown = antom.apply_token(ApplyTokenRequest.for_auth_code(helpers.WALLET, "NOPE"))
    wrong_wallet = antom.apply_token(ApplyTokenRequest.for_auth_code("GCASH", code))

    assert unknown.result_code == "INVALID_CODE"
    assert wrong_wallet.result_code == "PARAM_ILLEGAL"


def test_refresh_gives_new_tokens_once(sandbox, antom):
    first = helpers.token(antom, sandbox.url)

    refreshed = antom.apply_token(ApplyTokenRequest.for_refresh(helpers.WALLET, first.refresh_token))
    reused = antom.apply_token(ApplyTokenRequest.for_refresh(helpers.WALLET, first.refresh_token))

    assert refreshed.outcome is CallOutcome.SUCCEEDED
    assert refreshed.access_token != first.access_token
    assert reused.result_code == "INVALID_REFRESH_TOKEN"
    # The old access token keeps working until it expires (documented choice).
    assert helpers.pay(antom, first.access_token, 1001).outcome is CallOutcome.SUCCEEDED
    assert helpers.pay(antom, refreshed.access_token, 1001).outcome is CallOutcome.SUCCEEDED


def test_refresh_token_expires(sandbox, antom, fake_clock):
    first = helpers.token(antom, sandbox.url)
    fake_clock.advance(days=366)

    result = antom.apply_token(ApplyTokenRequest.for_refresh(helpers.WALLET, first.refresh_token))

    assert result.result_code == "EXPIRED_REFRESH_TOKEN"


def test_access_token_expires_after_thirty_days(sandbox, antom, fake_clock):
    first = helpers.token(antom, sandbox.url)
    fake_clock.advance(days=30, seconds=1)

    result = helpers.pay(antom, first.access_token, 1001)

    assert (result.outcome, result.result_code) == (CallOutcome.FAILED, "INVALID_ACCESS_TOKEN")


def test_revoke_kills_access_and_refresh_tokens_and_notifies(sandbox, antom, run_due):
    first = helpers.token(antom, sandbox.url)
    run_due()
    sandbox.receiver.reset()

    revoked = antom.revoke(first.access_token)
    again = antom.revoke(first.access_token)
    paid = helpers.pay(antom, first.access_token, 1001)
    refreshed = antom.apply_token(ApplyTokenRequest.for_refresh(helpers.WALLET, first.refresh_token))
    run_due()

    assert revoked.outcome is CallOutcome.SUCCEEDED
    assert (again.outcome, again.result_code) == (CallOutcome.FAILED, "INVALID_ACCESS_TOKEN")
    assert paid.result_code == "INVALID_ACCESS_TOKEN"
    assert refreshed.result_code == "INVALID_REFRESH_TOKEN"
    assert sandbox.receiver.kinds() == ["TOKEN_CANCELED"]
    assert sandbox.receiver.received[0].json["accessToken"] == first.access_token


def test_customer_unbinding_in_the_wallet_sends_token_canceled(sandbox, antom, run_due):
    first = helpers.token(antom, sandbox.url)
    run_due()
    sandbox.receiver.reset()
    with requests.Session() as browser:
        page = browser.get(f"{sandbox.url}/sandbox/", timeout=5)
        token_id = page.text.split('id="token-', 1)[1].split('"', 1)[0]
        csrf = helpers._CSRF.search(page.text).group(1)
        answer = browser.post(
            f"{sandbox.url}/sandbox/antom/tokens/{token_id}/unbind", data={"csrf_token": csrf}, timeout=5
        )

    run_due()

    assert answer.status_code == 200 and "unbound" in answer.text
    [notice] = sandbox.receiver.received
    assert notice.json["authorizationNotifyType"] == "TOKEN_CANCELED"
    assert notice.json["reason"]
    assert helpers.pay(antom, first.access_token, 1001).result_code == "INVALID_ACCESS_TOKEN"
