"""Auto Debit agreement statuses, events and the pure transition function (DESIGN §5).

The errors are :mod:`dashboard.machine`'s (:class:`InvalidTransition`, :class:`IgnoredEvent`), so
one ``except`` serves every domain.

``failed`` exists because the flow can end without a token: the consult or the applyToken call
answers F (an invalid, used or expired authCode). There is no ``declined``: Antom sends nothing
when a customer declines or walks away, so such an agreement stays ``pending`` until the sweeper
expires it (``expired`` then means "unusable because time ran out", for a pending authorisation as
for an active token past its expiry).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import timedelta
from types import MappingProxyType

from dashboard.machine import LATE
from dashboard.machine import Late
from dashboard.machine import Machine
from dashboard.machine import freeze_table

#: A consult nobody completed is expired after this long (Antom sends nothing on a decline, and
#: documents no lifetime for the authorisation link): until then its link is worth sending.
PENDING_LIFETIME = timedelta(hours=24)


class AgreementStatus(enum.StrEnum):
    """Where an Auto Debit authorisation stands."""

    #: Consult sent (our ``authState`` committed); waiting for the customer and applyToken.
    PENDING = "pending"
    #: We hold a valid access token; the agreement can be charged.
    ACTIVE = "active"
    #: The authorisation window or the token (and its refresh token) ran out; final.
    EXPIRED = "expired"
    #: We revoked it (staff action, confirmed by revoke S or TOKEN_CANCELED, or ended by a revoke
    #: answering that the token was expired, revoked or unknown already); final.
    REVOKED = "revoked"
    #: The customer unbound it in the wallet (TOKEN_CANCELED we did not ask for); final.
    CANCELLED_BY_CUSTOMER = "cancelled_by_customer"
    #: Consult or applyToken answered F; no token exists; final.
    FAILED = "failed"


class AgreementEvent(enum.StrEnum):
    """What can happen to an agreement."""

    #: AUTHCODE_CREATED: the customer agreed; applyToken is due. Status unchanged.
    AUTH_CODE_RECEIVED = "auth_code_received"
    #: applyToken (AUTHORIZATION_CODE) succeeded.
    TOKEN_ISSUED = "token_issued"  # noqa: S105 - an event name, not a secret
    #: applyToken (REFRESH_TOKEN) succeeded.
    TOKEN_REFRESHED = "token_refreshed"  # noqa: S105 - an event name, not a secret
    #: Consult or applyToken answered F.
    FAILED = "failed"
    #: The authorisation window or the tokens ran out.
    EXPIRED = "expired"
    #: Our revoke succeeded or found the token dead already, or TOKEN_CANCELED arrived while we
    #: were revoking.
    REVOKED = "revoked"
    #: TOKEN_CANCELED that we did not ask for: the customer unbound it.
    CANCELLED_BY_CUSTOMER = "cancelled_by_customer"


A = AgreementStatus
AE = AgreementEvent

# Final statuses: anything arriving afterwards is late, except a token issue/refresh, which would
# contradict them (a token cannot be issued for an agreement that is over).
_AGREEMENT_CLOSED = {
    AE.AUTH_CODE_RECEIVED: LATE,
    AE.FAILED: LATE,
    AE.EXPIRED: LATE,
}

_Table = Mapping[AgreementStatus, Mapping[AgreementEvent, AgreementStatus | Late]]

AGREEMENT_TRANSITIONS: _Table = freeze_table(
    {
        A.PENDING: {
            AE.AUTH_CODE_RECEIVED: A.PENDING,
            AE.TOKEN_ISSUED: A.ACTIVE,
            AE.FAILED: A.FAILED,
            AE.EXPIRED: A.EXPIRED,
            # Only reachable if applyToken's answer was lost after the token was made.
            AE.CANCELLED_BY_CUSTOMER: A.CANCELLED_BY_CUSTOMER,
        },
        A.ACTIVE: {
            AE.AUTH_CODE_RECEIVED: LATE,
            AE.TOKEN_ISSUED: LATE,
            AE.TOKEN_REFRESHED: A.ACTIVE,
            # A failed refresh leaves the current token valid until it expires.
            AE.FAILED: LATE,
            AE.EXPIRED: A.EXPIRED,
            AE.REVOKED: A.REVOKED,
            AE.CANCELLED_BY_CUSTOMER: A.CANCELLED_BY_CUSTOMER,
        },
        A.EXPIRED: {
            **_AGREEMENT_CLOSED,
            AE.TOKEN_ISSUED: LATE,
            AE.REVOKED: LATE,
            AE.CANCELLED_BY_CUSTOMER: LATE,
        },
        A.REVOKED: {
            **_AGREEMENT_CLOSED,
            AE.TOKEN_ISSUED: LATE,
            # TOKEN_CANCELED after our revoke confirms it.
            AE.REVOKED: LATE,
            AE.CANCELLED_BY_CUSTOMER: LATE,
        },
        A.CANCELLED_BY_CUSTOMER: {
            **_AGREEMENT_CLOSED,
            AE.TOKEN_ISSUED: LATE,
            AE.REVOKED: LATE,
            AE.CANCELLED_BY_CUSTOMER: LATE,
        },
        A.FAILED: {**_AGREEMENT_CLOSED},
    }
)

AGREEMENT_MACHINE = Machine("agreement", AgreementStatus, AgreementEvent, AGREEMENT_TRANSITIONS)

#: Statuses after which nothing changes.
AGREEMENT_FINAL = frozenset({A.EXPIRED, A.REVOKED, A.CANCELLED_BY_CUSTOMER, A.FAILED})

#: Why an agreement that is not active can be neither revoked nor charged, as staff read it (an
#: active one holds a valid token: it can be charged and revoked).
NOT_ACTIVE_BECAUSE: Mapping[AgreementStatus, str] = MappingProxyType(
    {
        A.PENDING: "the customer has not authorised it yet",
        A.EXPIRED: "it has expired",
        A.REVOKED: "it was revoked",
        A.CANCELLED_BY_CUSTOMER: "the customer cancelled it in their wallet",
        A.FAILED: "its authorisation failed, so it never became active",
    }
)


def why_not_revocable(status: AgreementStatus | str) -> str | None:
    """Return why an agreement in ``status`` cannot be revoked, or None when it can (it is active).

    An active agreement whose revoke is unanswered or was refused can be revoked again.
    """
    return NOT_ACTIVE_BECAUSE.get(AgreementStatus(status))


def why_not_chargeable(status: AgreementStatus | str, revoke_requested: bool) -> str | None:
    """Return why an agreement in ``status`` cannot be charged, or None when it can.

    :param revoke_requested: staff asked to revoke it; it is not charged while that stands
    """
    if (reason := NOT_ACTIVE_BECAUSE.get(AgreementStatus(status))) is not None:
        return reason
    return "staff asked to revoke it" if revoke_requested else None


def token_canceled_event(status: AgreementStatus | str, revoke_requested: bool) -> AgreementEvent:
    """Return what a TOKEN_CANCELED notification means for an agreement (DESIGN §8).

    On an agreement we are revoking or have revoked it confirms our revoke; otherwise the
    customer cancelled in the wallet.
    """
    if revoke_requested or AgreementStatus(status) is A.REVOKED:
        return AE.REVOKED
    return AE.CANCELLED_BY_CUSTOMER


__all__ = [
    "AGREEMENT_FINAL",
    "AGREEMENT_MACHINE",
    "AGREEMENT_TRANSITIONS",
    "NOT_ACTIVE_BECAUSE",
    "AgreementEvent",
    "AgreementStatus",
    "token_canceled_event",
    "why_not_chargeable",
    "why_not_revocable",
]
