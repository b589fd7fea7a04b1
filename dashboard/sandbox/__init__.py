"""Local simulators of the providers, mounted under ``/sandbox`` when ``SANDBOX=1``.

The README's sandbox section lists the URLs, settings, faults and amount triggers.
"""

from __future__ import annotations

from flask import Flask

from dashboard.providers.base import SANDBOX_OFFERS
from dashboard.sandbox.core import Sandbox
from dashboard.sandbox.core import build_sandbox
from dashboard.sandbox.core import get_sandbox


def init_sandbox(app: Flask) -> Sandbox:
    """Check the client settings against the sandbox, open its state and mount its blueprints.

    Raises :class:`dashboard.config.ConfigError` (naming the variable) on a mismatch.
    """
    from dashboard.extensions import csrf
    from dashboard.sandbox.views import antom
    from dashboard.sandbox.views import hkach
    from dashboard.sandbox.views import pages
    from dashboard.sandbox.views import worldpay

    sandbox = build_sandbox(app.config)
    app.extensions["sandbox"] = sandbox
    # The provider settings take their sandbox defaults from here (they never import the sandbox).
    app.extensions[SANDBOX_OFFERS] = sandbox.offers
    app.register_blueprint(pages.bp)
    for api in (antom.bp, worldpay.bp, hkach.bp):
        app.register_blueprint(api)
        csrf.exempt(api)
    return sandbox


__all__ = ["Sandbox", "get_sandbox", "init_sandbox"]
