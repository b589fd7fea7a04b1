"""The one source of "now": real, fake (tests advance it) or offset (demo history).

Everything that needs the time calls :func:`now`; nothing calls ``datetime.now`` directly.
"""

from __future__ import annotations

import threading
from datetime import UTC
from datetime import datetime
from datetime import timedelta


class RealClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, start: datetime | None = None):
        self._now = start or datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move forward by ``delta`` (or ``timedelta(**kwargs)``) and return the new now."""
        step = delta if delta is not None else timedelta(**kwargs)
        if step < timedelta(0):
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._now += step
            return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (must be aware and not in this clock's past)."""
        if moment.tzinfo is None:
            raise ValueError("moment must be timezone-aware")
        with self._lock:
            if moment < self._now:
                raise ValueError("a clock never goes backwards")
            self._now = moment


class OffsetClock:
    """Real time shifted by a fixed offset (the demo writes history in the past)."""

    def __init__(self, offset: timedelta):
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


_clock: RealClock | FakeClock | OffsetClock = RealClock()


def now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return _clock.now()


def current() -> RealClock | FakeClock | OffsetClock:
    """Return the clock in use."""
    return _clock


def use(clock: RealClock | FakeClock | OffsetClock) -> RealClock | FakeClock | OffsetClock:
    """Install ``clock`` process-wide and return the previous one."""
    global _clock
    previous, _clock = _clock, clock
    return previous
