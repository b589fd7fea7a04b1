"""The provider registry: every entry is reachable by its code, has its webhook, and reads what
it is sent without trusting it."""

from __future__ import annotations

import pytest

from dashboard.notifications.webhooks import webhook_routes
from dashboard.providers.base import Subject
from dashboard.providers.entry import Provider
from dashboard.providers.registry import CODES
from dashboard.providers.registry import NOTIFYING
from dashboard.providers.registry import provider

GARBAGE = [b"", b"not json", b"[]", b'{"eventDetails": 7, "notifyType": 8}', b"\xff\xfe"]


def test_every_provider_is_found_by_its_code_and_an_unknown_one_is_refused():
    assert CODES == ("antom", "worldpay", "hkach")
    assert all(isinstance(provider(code), Provider) and provider(code).code == code for code in CODES)
    with pytest.raises(LookupError, match="unknown provider 'paypal'"):
        provider("paypal")


def test_every_provider_that_notifies_has_its_webhook_at_its_configured_path_and_no_other_has_one(app):
    routes = webhook_routes(app.config)
    assert {entry.code for entry in routes.values()} == set(NOTIFYING) == {"antom", "worldpay"}
    for entry in NOTIFYING.values():
        assert routes[entry.webhook.path(app.config)] is entry
    # Only a POST is intake; anything else on the path is Flask's (no such page).
    assert app.test_client().get(next(iter(routes))).status_code == 404


@pytest.mark.parametrize("code", NOTIFYING)
@pytest.mark.parametrize("body", GARBAGE)
def test_identifying_a_body_never_raises_whatever_it_holds(code, body):
    identity = provider(code).webhook.identify(body)
    assert identity.kind and identity.key is None


@pytest.mark.parametrize(
    ("code", "kind", "subject"),
    [
        ("antom", "PAYMENT_RESULT", Subject.PAYMENT),
        ("antom", "REFUND_RESULT", Subject.REFUND),
        ("antom", "AUTHCODE_CREATED", Subject.AUTHORIZATION),
        ("antom", "TOKEN_CANCELED", Subject.AGREEMENT),
        ("worldpay", "sentForRefund", Subject.PAYMENT),
    ],
)
def test_each_kind_of_notification_names_what_staff_may_ask_about(code, kind, subject):
    assert provider(code).webhook.subject_of(kind) is subject
