"""Antom in the provider registry: its client, notification signatures, identities and answers."""

from __future__ import annotations

import json
from collections.abc import Mapping

from flask import Flask

from dashboard.providers.antom import settlement_reports
from dashboard.providers.antom.client import AntomClient
from dashboard.providers.antom.consts import HEADER_CLIENT_ID
from dashboard.providers.antom.consts import HEADER_REQUEST_TIME
from dashboard.providers.antom.consts import HEADER_SIGNATURE
from dashboard.providers.antom.consts import NOTIFICATION_ACK
from dashboard.providers.antom.consts import PROVIDER
from dashboard.providers.antom.consts import DisputeNotificationType
from dashboard.providers.antom.consts import NotifyType
from dashboard.providers.antom.guidance import GUIDANCE
from dashboard.providers.antom.mapping import identify_notification
from dashboard.providers.antom.mapping import notification_news
from dashboard.providers.antom.mapping import notification_subject
from dashboard.providers.antom.mapping import request_time
from dashboard.providers.antom.settings import DEFAULT_NOTIFY_PATH
from dashboard.providers.antom.settings import from_app
from dashboard.providers.entry import Provider
from dashboard.providers.entry import SettlementReports
from dashboard.providers.entry import Verdict
from dashboard.providers.entry import Webhook
from dashboard.providers.entry import WebhookAnswer
from dashboard.providers.entry import header

#: Antom retries anything but its exact SUCCESS answer (notification "Acknowledgement"), so a bad
#: signature gets a failure: the real sender tries again, a forger learns nothing.
REFUSAL_BODY = json.dumps(
    {
        "result": {
            "resultCode": "INVALID_SIGNATURE",
            "resultStatus": "F",
            "resultMessage": "The signature could not be verified.",
        }
    },
    separators=(",", ":"),
).encode()


def check_signature(app: Flask, headers: Mapping[str, str], body: bytes) -> Verdict:
    """Check RSA-SHA256 over ``POST <notify path>\\n<client-id>.<Request-Time>.<body>``."""
    if not header(headers, HEADER_SIGNATURE):
        return Verdict.MISSING
    # The path signed is the one Antom POSTed to: the public notify URL's (PUBLIC_BASE_URL +
    # ANTOM_NOTIFY_PATH), which differs from request.path behind a proxy that strips a prefix.
    valid = ANTOM.client(app).verify_notification(headers, body)
    return Verdict.VALID if valid else Verdict.INVALID


ANTOM: Provider[AntomClient] = Provider(
    code=PROVIDER,
    label="Antom",
    build_client=from_app,
    webhook=Webhook(
        check_signature=check_signature,
        identify=identify_notification,
        subject_of=notification_subject,
        read_notification=notification_news,
        notification_kinds=tuple(kind.value for kind in (*NotifyType, *DisputeNotificationType)),
        kept_headers=("Content-Type", HEADER_CLIENT_ID, HEADER_REQUEST_TIME, HEADER_SIGNATURE, "User-Agent"),
        path_setting="ANTOM_NOTIFY_PATH",
        default_path=DEFAULT_NOTIFY_PATH,
        acknowledgement=WebhookAnswer(200, NOTIFICATION_ACK, "application/json"),
        refusal=WebhookAnswer(401, REFUSAL_BODY, "application/json"),
        # Notifications whose body gives no time for what they report (authorisations, a failed
        # payment) are timed by the Request-Time Antom signs on them.
        sent_at=request_time,
    ),
    guidance=GUIDANCE,
    settlement_reports=SettlementReports(
        classify=settlement_reports.classify,
        read=settlement_reports.read_report,
        build_folder=settlement_reports.reports_client,
        day_zone=settlement_reports.GMT8,
    ),
)
