"""What the back office knows of each provider: one :class:`Provider` per registry entry (DESIGN §9).

A provider's own package builds its entry (``providers/<name>/provider.py``); the registry lists
them. An entry without a :class:`Webhook` sends no notifications (it is polled).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import tzinfo
from typing import Any
from typing import BinaryIO
from typing import Generic
from typing import Protocol
from typing import TypeVar

from flask import Flask
from flask import current_app

from dashboard.providers.base import NotificationIdentity
from dashboard.providers.base import Subject
from dashboard.providers.guidance import About
from dashboard.providers.guidance import Guidance
from dashboard.providers.guidance import no_guidance
from dashboard.settlements.records import ReportFile
from dashboard.settlements.records import SettlementEntry
from dashboard.settlements.records import SettlementTotal

C = TypeVar("C")


class Verdict(enum.StrEnum):
    """What checking a notification's signature found (the inbox keeps it with the notification)."""

    #: It verified with a configured key; the only verdict that may be applied.
    VALID = "valid"
    #: A signature was there but did not verify.
    INVALID = "invalid"
    #: No signature header (or no usable one).
    MISSING = "missing"


@dataclass(frozen=True)
class WebhookAnswer:
    """What a provider's notification endpoint answers: the status and body that provider expects."""

    status: int
    body: bytes = b""
    content_type: str | None = None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Return header ``name`` from a plain mapping, ignoring case."""
    wanted = name.lower()
    found = headers.get(wanted)  # intake hands its headers over with lower-case names
    if found is not None:
        return found
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def app_cached(app: Flask, key: str, make: Callable[[], Any]) -> Any:
    """Return ``app.extensions[key]``, made once per app (clients and settings built from config)."""
    if key not in app.extensions:
        app.extensions[key] = make()
    return app.extensions[key]


@dataclass(frozen=True, eq=False)
class Webhook:
    """How a provider tells us news: its endpoint, signature, what its notifications say, its answers."""

    #: Check a notification's signature over its raw bytes.
    check_signature: Callable[[Flask, Mapping[str, str], bytes], Verdict]
    #: Read what a notification says it is, before and without trusting it; never raises.
    identify: Callable[[bytes], NotificationIdentity]
    #: What a notification of a kind is about (what its reference names).
    subject_of: Callable[[str], Subject]
    #: Read a verified notification into the domain's news; raises ``MalformedMessage``.
    read_notification: Callable[[bytes], Any]
    #: Every kind a notification may have, for the inbox's filter.
    notification_kinds: tuple[str, ...]
    #: Headers kept with each notification (signature inputs and what helps staff trace it).
    kept_headers: tuple[str, ...]
    #: The setting naming the endpoint's path below ``PUBLIC_BASE_URL``, and its default.
    path_setting: str
    default_path: str
    #: What the endpoint answers a notification it stored and verified, and one it refused.
    acknowledgement: WebhookAnswer
    refusal: WebhookAnswer
    #: When the provider stamped a notification it sent, from its headers (None: it does not say).
    sent_at: Callable[[Mapping[str, str]], datetime | None] = lambda headers: None

    def verify(self, headers: Mapping[str, str], body: bytes) -> Verdict:
        """Check a notification's signature with the current app's settings."""
        return self.check_signature(current_app._get_current_object(), headers, body)

    def event_time(self, identity: NotificationIdentity, headers: Mapping[str, str]) -> datetime | None:
        """Return when the provider says the news happened: the body's time, else when it was sent."""
        return identity.event_at or self.sent_at(headers)

    def path(self, config: Mapping[str, Any]) -> str:
        """Return the path notifications are posted to."""
        return config.get(self.path_setting) or self.default_path

    def kept(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Return the headers worth keeping with a notification, under their documented names."""
        return {name: value for name in self.kept_headers if (value := header(headers, name)) is not None}


class ReportFolder(Protocol):
    """Where a provider's settlement reports are fetched: one folder per day."""

    def list_day(self, day: date) -> list[ReportFile]:
        """Return the reports in a day's folder (empty when there is none yet)."""

    def download(self, day: date, name: str) -> BinaryIO:
        """Return one report's bytes as a stream (the caller closes it)."""


@dataclass(frozen=True, eq=False)
class SettlementReports:
    """A provider's settlement reports: what a file name says, its rows as records, where they are."""

    #: What a file's name says it is (None: not one of this provider's reports).
    classify: Callable[[str], ReportFile | None]
    #: Stream a report's rows as records; raises ``ReportFormatError`` naming the line.
    read: Callable[[BinaryIO, ReportFile], Iterator[SettlementEntry | SettlementTotal]]
    #: Build the folder the daily job fetches from, from an app's settings.
    build_folder: Callable[[Flask], ReportFolder]
    #: The zone of the provider's report days (a batch settles what completed on its day there).
    day_zone: tzinfo = UTC


@dataclass(frozen=True, eq=False)
class Provider(Generic[C]):
    """One provider as the rest of the back office sees it."""

    #: Stored on payments and notifications, and in URLs: ``antom``.
    code: str
    #: What staff read: ``Antom``.
    label: str
    #: Build the client from an app's settings (DESIGN §8 "Sandbox" applies there).
    build_client: Callable[[Flask], C]
    #: How it sends notifications; None for a provider that is only polled.
    webhook: Webhook | None = None
    #: Check the provider's settings at start-up; raises ``ConfigError`` naming the variable.
    check_settings: Callable[[Mapping[str, Any]], None] | None = None
    #: What a result code it gives means to staff and what they do next, given what the code is
    #: kept on (its package's ``guidance.py``); None for a code it has no guidance for yet.
    guidance: Callable[[str, About | None], Guidance | None] = no_guidance
    #: Its settlement reports; None for a provider that sends none we read.
    settlement_reports: SettlementReports | None = None

    def client(self, app: Flask | None = None) -> C:
        """Return the app's client for this provider, built once."""
        app = app or current_app._get_current_object()
        return app_cached(app, f"{self.code}_client", lambda: self.build_client(app))

    def report_folder(self, app: Flask | None = None) -> ReportFolder:
        """Return the app's settlement report folder of this provider, built once.

        :raises LookupError: the provider has no settlement reports
        """
        if self.settlement_reports is None:
            raise LookupError(f"{self.label} sends no settlement reports")
        app = app or current_app._get_current_object()
        reports = self.settlement_reports
        return app_cached(app, f"{self.code}_report_folder", lambda: reports.build_folder(app))
