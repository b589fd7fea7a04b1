"""Rate limits: fixed windows counted in Redis (or in memory when the app runs alone).

Only what is limited pays for it. Staff pages and the live poll have no limit and run no check;
sign-in counts its POSTs per address (:meth:`RateLimiter.limit`), the storefront API per key and
address and the webhooks their unverified POSTs (:meth:`RateLimiter.count_call`), and the webhooks
the bodies of those they keep (:meth:`RateLimiter.hit`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from collections.abc import Collection
from functools import wraps
from typing import Any

from flask import Flask
from flask import request
from limits import RateLimitItem
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

View = Callable[..., Any]


class RateLimiter:
    """Count calls against limits; off (every call allowed) when ``RATELIMIT_ENABLED`` is false.

    Settings: ``RATELIMIT_STORAGE_URI`` (``redis://…`` or ``memory://``), ``RATELIMIT_ENABLED``.
    """

    def __init__(self) -> None:
        self.enabled = True
        self._counter: FixedWindowRateLimiter | None = None

    def init_app(self, app: Flask) -> None:
        """Open the store the app's settings name."""
        self.enabled = bool(app.config.get("RATELIMIT_ENABLED", True))
        self._counter = FixedWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))

    @property
    def counter(self) -> FixedWindowRateLimiter:
        """Return the fixed-window counter on the app's store."""
        if self._counter is None:
            raise RuntimeError("the rate limiter is used before init_app")
        return self._counter

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one call against ``item`` for ``identifiers``; return False when it is over."""
        return not self.enabled or self.counter.hit(item, *identifiers)

    def count_call(self, item: RateLimitItem, *identifiers: str) -> int | None:
        """Count one call against ``item`` for ``identifiers``; return None when it is within the
        limit, else the whole seconds until the window starts again (at least 1: ``Retry-After``)."""
        if self.hit(item, *identifiers):
            return None
        reset, _remaining = self.counter.get_window_stats(item, *identifiers)
        return max(math.ceil(reset - time.time()), 1)

    def limit(self, text: str, methods: Collection[str]) -> Callable[[View], View]:
        """Limit a view's ``methods`` calls per client address (``10 per minute``, counted for this
        view alone); beyond it 429 with ``Retry-After``."""
        item = parse(text)
        limited_methods = frozenset(method.upper() for method in methods)

        def decorate(view: View) -> View:
            @wraps(view)
            def limited(*args: Any, **kwargs: Any) -> Any:
                if request.method in limited_methods:
                    wait = self.count_call(item, request.remote_addr or "", request.endpoint or "")
                    if wait is not None:
                        raise TooManyRequests(retry_after=wait)
                return view(*args, **kwargs)

            return limited

        return decorate

    def reset(self) -> None:
        """Forget every count (tests)."""
        self.counter.storage.reset()
