"""Storefront API jobs: forget idempotency keys' answers after a day."""

from __future__ import annotations

from dashboard.api.idempotency import purge_expired
from dashboard.jobs import sweeper


@sweeper
def sweep_idempotency_keys() -> None:
    """Delete the answers kept for idempotency keys more than a day old (the keys become free)."""
    purge_expired()
