"""Customs declarations of a payment: their statuses, events, typed errors and what providers say.

A declaration sends a paid payment's facts to a customs authority through the payment's provider
(Antom ``declare``). It is committed ``pending`` with its request id before the call. The
provider's answer only says whether it accepted the request (``submitted``) or refused it
(``refused``, final); customs decide later, and an inquiry brings that decision (``declared`` or
``rejected``, final). An unknown answer (timeout, U) leaves it ``pending``: it is sent again with
the same request id, which the provider answers as the first time.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dashboard.machine import LATE
from dashboard.machine import Late
from dashboard.machine import Machine
from dashboard.machine import freeze_table


class DeclarationStatus(enum.StrEnum):
    """Where a customs declaration stands."""

    #: Committed before the call; no answer yet, or the answer was unknown (sent again as is).
    PENDING = "pending"
    #: The provider accepted the request and passed it on; customs have not decided yet.
    SUBMITTED = "submitted"
    #: Customs accepted the declaration; final.
    DECLARED = "declared"
    #: The provider refused the request (payment, method, amount, customs code …); final.
    REFUSED = "refused"
    #: Customs rejected the declaration; final (declare again with a new request).
    REJECTED = "rejected"


class DeclarationEvent(enum.StrEnum):
    """What can happen to a declaration, in our words."""

    #: The provider accepted the request (or reports it still waits for customs).
    SUBMITTED = "submitted"
    #: The provider refused the request.
    REFUSED = "refused"
    #: Customs accepted it.
    DECLARED = "declared"
    #: Customs rejected it.
    REJECTED = "rejected"


DS = DeclarationStatus
DE = DeclarationEvent

DECLARATION_TRANSITIONS: Mapping[DeclarationStatus, Mapping[DeclarationEvent, DeclarationStatus | Late]] = (
    freeze_table(
        {
            # An inquiry may report customs' decision before the declare answer is committed.
            DS.PENDING: {
                DE.SUBMITTED: DS.SUBMITTED,
                DE.REFUSED: DS.REFUSED,
                DE.DECLARED: DS.DECLARED,
                DE.REJECTED: DS.REJECTED,
            },
            DS.SUBMITTED: {DE.SUBMITTED: LATE, DE.DECLARED: DS.DECLARED, DE.REJECTED: DS.REJECTED},
            DS.DECLARED: {DE.SUBMITTED: LATE, DE.DECLARED: LATE},
            DS.REJECTED: {DE.SUBMITTED: LATE, DE.REJECTED: LATE},
            DS.REFUSED: {DE.REFUSED: LATE},
        }
    )
)

DECLARATION_MACHINE = Machine("declaration", DeclarationStatus, DeclarationEvent, DECLARATION_TRANSITIONS)

#: Statuses still waiting for the provider or customs: sent again or asked about until final.
OPEN_DECLARATION = frozenset({DS.PENDING, DS.SUBMITTED})


class DeclarationRefused(Exception):
    """The payment cannot be declared (its provider, its status, the amount): nothing was sent."""


class DuplicateDeclaration(DeclarationRefused):
    """The declaration request id was used already (a double click or a resubmitted form)."""


@dataclass(frozen=True)
class DeclarationNews:
    """What a provider said about a declaration, in our words."""

    event: DeclarationEvent
    #: The provider's result code and message (a refusal's, or customs' own answer).
    code: str | None = None
    message: str | None = None
    #: The provider's id of the declaration at customs, once it has one.
    provider_declaration_id: str | None = None
    #: The order id customs know the declaration by.
    customs_order_id: str | None = None
    #: When customs answered.
    customs_answered_at: datetime | None = None
