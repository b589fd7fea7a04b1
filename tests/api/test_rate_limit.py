"""Each key has its own rate (API_RATE_LIMIT): over it, 429 with Retry-After; a flood of refused
keys from one address is cut off too."""

from __future__ import annotations

import pytest

from dashboard.extensions import limiter
from tests.api.conftest import Storefront


@pytest.fixture
def limited(make_app):
    """Return a factory of apps with the rate limiter on (the shared test app has it off); the
    limiter is emptied before and after, and switched back."""
    previous = limiter.enabled

    def build(**settings):
        application = make_app(RATELIMIT_ENABLED=True, **settings)
        limiter.reset()
        return application

    yield build
    limiter.reset()
    limiter.enabled = previous


def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_do_not(limited, make_key):
    app = limited(API_RATE_LIMIT="3 per minute")
    busy = Storefront(app.test_client(), make_key(("read",), on=app))
    calm = Storefront(app.test_client(), make_key(("read",), on=app))

    answers = [busy.get("/payments").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    limited = busy.get("/payments")
    assert limited.status_code == 429
    assert limited.get_json()["type"] == "urn:back-office:problem:rate-limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert calm.get("/payments").status_code == 200


def test_an_address_sending_refused_keys_is_cut_off(limited):
    app = limited()
    guesser = Storefront(app.test_client(), "bo_live_guess")

    answers = [guesser.get("/payments").status_code for _ in range(61)]

    assert answers[:60] == [401] * 60 and answers[60] == 429
