"""The notifications service the webhooks, the inbox pages and the jobs call.

Intake (verify, store, acknowledge) is ``notifications/intake.py``; applying a stored
notification is ``notifications/handlers.py``; what staff do with one (reprocess, ask the
provider) is ``notifications/actions.py``.
"""

from __future__ import annotations

from dashboard.notifications.actions import ReprocessRefused
from dashboard.notifications.actions import ask_provider
from dashboard.notifications.actions import ask_provider_audited
from dashboard.notifications.actions import can_ask_provider
from dashboard.notifications.actions import reprocess
from dashboard.notifications.actions import reprocess_refusal
from dashboard.notifications.handlers import apply
from dashboard.notifications.intake import Intake
from dashboard.notifications.intake import receive

__all__ = [
    "Intake",
    "ReprocessRefused",
    "apply",
    "ask_provider",
    "ask_provider_audited",
    "can_ask_provider",
    "receive",
    "reprocess",
    "reprocess_refusal",
]
