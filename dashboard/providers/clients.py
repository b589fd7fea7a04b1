"""The app's provider clients, built once per app from its settings."""

from __future__ import annotations

from flask import current_app

from dashboard.providers.antom import AntomClient
from dashboard.providers.antom.settings import from_app as antom_from_app
from dashboard.providers.worldpay import WorldpayClient
from dashboard.providers.worldpay.settings import from_app as worldpay_from_app


def antom() -> AntomClient:
    """Return the current app's Antom client."""
    extensions = current_app.extensions
    if "antom_client" not in extensions:
        extensions["antom_client"] = antom_from_app(current_app)
    return extensions["antom_client"]


def worldpay() -> WorldpayClient:
    """Return the current app's Worldpay client."""
    extensions = current_app.extensions
    if "worldpay_client" not in extensions:
        extensions["worldpay_client"] = worldpay_from_app(current_app)
    return extensions["worldpay_client"]
