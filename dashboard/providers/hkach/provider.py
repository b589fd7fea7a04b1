"""HK ACH in the provider registry: a polled provider (no notifications, §8.6) with its client."""

from __future__ import annotations

from dashboard.providers.entry import Provider
from dashboard.providers.hkach.client import HkachClient
from dashboard.providers.hkach.consts import PROVIDER
from dashboard.providers.hkach.guidance import GUIDANCE
from dashboard.providers.hkach.settings import check_startup
from dashboard.providers.hkach.settings import from_app

HKACH: Provider[HkachClient] = Provider(
    code=PROVIDER,
    label="HK ACH",
    build_client=from_app,
    check_settings=check_startup,
    guidance=GUIDANCE,
)
