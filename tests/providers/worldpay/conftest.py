"""Fixtures for the Worldpay client tests: a fake clock, a client on the Try URL, mocked HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from dashboard.clock import FakeClock
from dashboard.providers.worldpay import WorldpayClient
from dashboard.providers.worldpay.consts import TRY_BASE_URL

from .samples import PASSWORD
from .samples import USERNAME


@pytest.fixture
def clock() -> FakeClock:
    """Return a clock that stands still."""
    return FakeClock()


@pytest.fixture
def client(clock: FakeClock) -> WorldpayClient:
    """Return a client on the Try URL with the test credentials."""
    return WorldpayClient(TRY_BASE_URL, USERNAME, PASSWORD, "default", clock=clock.now)


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    """Mock HTTP; every registered answer must be asked for."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
