"""The one source of now: fake clocks only move forward, offset clocks shift real time."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from dashboard import clock


def test_fake_clock_stands_still_until_advanced():
    fake = clock.FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    assert fake.now() == fake.now() == datetime(2026, 3, 1, tzinfo=UTC)
    assert fake.advance(minutes=31) == datetime(2026, 3, 1, 0, 31, tzinfo=UTC)
    assert fake.advance(timedelta(hours=1)) == datetime(2026, 3, 1, 1, 31, tzinfo=UTC)
    assert fake.now() == datetime(2026, 3, 1, 1, 31, tzinfo=UTC)


def test_fake_clock_is_timezone_aware_utc():
    assert clock.FakeClock().now().utcoffset() == timedelta(0)


def test_fake_clock_never_goes_backwards():
    fake = clock.FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="backwards"):
        fake.advance(seconds=-1)
    with pytest.raises(ValueError, match="backwards"):
        fake.set(datetime(2026, 2, 28, tzinfo=UTC))
    assert fake.now() == datetime(2026, 3, 1, tzinfo=UTC)


def test_fake_clock_set_jumps_forward_and_refuses_naive_times():
    fake = clock.FakeClock(datetime(2026, 3, 1, tzinfo=UTC))
    fake.set(datetime(2026, 4, 1, tzinfo=UTC))
    assert fake.now() == datetime(2026, 4, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        fake.set(datetime(2026, 5, 1))


def test_offset_clock_shifts_real_time():
    offset = clock.OffsetClock(timedelta(days=-30))
    before = datetime.now(UTC)
    shifted = offset.now()
    after = datetime.now(UTC)
    assert before - timedelta(days=30) <= shifted <= after - timedelta(days=30)
    assert shifted.tzinfo is not None


def test_use_installs_a_clock_process_wide_and_returns_the_previous_one(fake_clock):
    assert clock.current() is fake_clock
    assert clock.now() == fake_clock.now()
    fake_clock.advance(minutes=5)
    assert clock.now() == fake_clock.now()
    other = clock.FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    previous = clock.use(other)
    try:
        assert previous is fake_clock
        assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)
    finally:
        clock.use(previous)


def test_real_clock_is_aware_utc():
    now = clock.RealClock().now()
    assert now.utcoffset() == timedelta(0)
