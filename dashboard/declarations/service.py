"""Declare a paid payment to customs, and follow the declaration until customs decide.

Every call goes through the provider step (DESIGN §3, §9): the declaration and its request id are
committed ``pending`` before ``declare`` is sent, and the answer is committed afterwards. An
unknown answer leaves it pending and the job sends it again with the same request id (the
provider answers a repeat as the first time); customs' decision comes from an inquiry, by the
job (with back-off, then the sweeper) or by staff from the payment's page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from collections.abc import Mapping
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.audit import service as audit
from dashboard.db import locked
from dashboard.db import write_transaction
from dashboard.declarations.models import Declaration
from dashboard.declarations.states import DECLARATION_MACHINE
from dashboard.declarations.states import OPEN_DECLARATION
from dashboard.declarations.states import DeclarationNews
from dashboard.declarations.states import DeclarationRefused
from dashboard.declarations.states import DeclarationStatus
from dashboard.declarations.states import DuplicateDeclaration
from dashboard.events.kinds import EventKind
from dashboard.events.kinds import ObjectType
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.i18n import gettext as _
from dashboard.i18n import lazy_gettext as _l
from dashboard.jobs import enqueue_after_commit
from dashboard.money import Money
from dashboard.money import format_money
from dashboard.payments.models import Payment
from dashboard.payments.states import PAYMENT_REFUNDABLE
from dashboard.payments.states import PaymentStatus
from dashboard.provider_step import provider_step
from dashboard.provider_step import settle
from dashboard.providers.antom import declarations as antom_declarations
from dashboard.providers.antom.provider import ANTOM
from dashboard.providers.base import Call
from dashboard.providers.guidance import About
from dashboard.providers.registry import label as provider_label
from dashboard.providers.registry import refusal_words
from dashboard.statuses import status_label
from dashboard.transitions import move

#: The job that sends pending declarations again and asks about submitted ones.
REFRESH_DECLARATIONS = "dashboard.declarations.tasks.refresh_declarations_task"
#: Seconds between the job's looks at a payment's open declarations; customs answer in minutes to
#: hours, so the sweeper takes over after the last step.
REFRESH_BACKOFF = (10, 30, 60, 120, 300, 600, 1800)

#: Where declarations go, and the customs authorities offered on the form (code → name).
CUSTOMS_REGION = antom_declarations.CUSTOMS_REGION
CUSTOMS_AUTHORITIES: Mapping[str, str] = antom_declarations.CUSTOMS_AUTHORITIES
#: Field lengths the provider accepts.
MAX_CUSTOMS_CODE = antom_declarations.MAX_CUSTOMS_CODE_LENGTH
MAX_MERCHANT_CODE = antom_declarations.MAX_MERCHANT_CUSTOMS_CODE_LENGTH
MAX_MERCHANT_NAME = antom_declarations.MAX_MERCHANT_CUSTOMS_NAME_LENGTH
#: How many declarations one inquiry asks about.
INQUIRY_BATCH = antom_declarations.MAX_INQUIRY_IDS


def new_declaration_request_id() -> str:
    """Return a declaration request id (32 characters); the form makes one when it is first shown."""
    return f"dc{uuid.uuid4().hex[:30]}"


def why_not_declarable(payment: Payment) -> str | None:
    """Return why ``payment`` cannot be declared to customs, or None when it can be sent."""
    if payment.provider != ANTOM.code:
        return _l(
            "only %(provider)s payments can be declared to customs", provider=provider_label(ANTOM.code)
        )
    if PaymentStatus(payment.status) not in PAYMENT_REFUNDABLE:
        return _l(
            "only a paid payment can be declared, and this one is %(status)s",
            status=status_label(payment.status),
        )
    return None


def declarations_of(session: Session, payment_id: int) -> list[Declaration]:
    """Return a payment's declarations, oldest first."""
    statement = select(Declaration).where(Declaration.payment_id == payment_id).order_by(Declaration.id)
    return list(session.scalars(statement))


def last_merchant_customs(session: Session) -> tuple[str, str] | None:
    """Return the merchant's customs registration code and name as last declared (the form's default)."""
    statement = (
        select(Declaration.merchant_customs_code, Declaration.merchant_customs_name)
        .order_by(Declaration.id.desc())
        .limit(1)
    )
    last = session.execute(statement).first()
    return None if last is None else (last[0], last[1])


def declare_payment(
    payment_id: int,
    request_id: str,
    customs_code: str,
    merchant_customs_code: str,
    merchant_customs_name: str,
    amount: Money,
    *,
    actor_id: int | None = None,
) -> Declaration:
    """Declare a paid payment to a customs authority; return the declaration as the provider left it.

    :param request_id: the form's request id, committed with the declaration before the call
    :param amount: the declared amount, in the payment's currency and at most its amount
    :raises DuplicateDeclaration: ``request_id`` was used already: nothing is sent again
    :raises DeclarationRefused: not a paid payment of a provider that declares, or the amount does
        not fit it
    """
    with write_transaction(db.session) as session:
        payment = locked(session, Payment, payment_id)
        if payment is None:
            raise DeclarationRefused(f"payment {payment_id} does not exist")
        if session.scalar(select(Declaration.id).where(Declaration.request_id == request_id)) is not None:
            raise DuplicateDeclaration(f"declaration request {request_id} exists already")
        refusal = why_not_declarable(payment) or _amount_refusal(payment, amount)
        if refusal is not None:
            raise DeclarationRefused(refusal)
        declaration = Declaration(
            payment_id=payment.id,
            request_id=request_id,
            customs_code=customs_code,
            customs_region=CUSTOMS_REGION,
            merchant_customs_code=merchant_customs_code,
            merchant_customs_name=merchant_customs_name,
            amount_minor=amount.minor,
            currency=amount.currency,
            status=DeclarationStatus.PENDING.value,
            requested_by_id=actor_id,
        )
        session.add(declaration)
        session.flush()
        facts = {**declaration.timeline.extra, "customs_code": customs_code, **_money(amount)}
        record_event(
            session, ObjectType.PAYMENT, payment.id, EventKind.DECLARATION_REQUESTED, facts, actor_id=actor_id
        )
        audit.record(
            session,
            "payment.declaration_requested",
            object_type=ObjectType.PAYMENT,
            object_id=payment.id,
            after={**facts, "request_id": request_id, "merchant_customs_code": merchant_customs_code},
        )
        declaration_id = declaration.id
    send_declaration(declaration_id)
    return db.session.get(Declaration, declaration_id)


def _amount_refusal(payment: Payment, amount: Money) -> str | None:
    if amount.currency != payment.currency:
        return _l(
            "the declared amount must be in the payment's currency, %(currency)s", currency=payment.currency
        )
    if amount.minor > payment.amount_minor:
        return _l(
            "the declared amount is above the payment's %(amount)s", amount=format_money(payment.amount)
        )
    return None


def _money(amount: Money) -> dict[str, int | str]:
    return {"amount_minor": amount.minor, "currency": amount.currency}


def send_declaration(declaration_id: int, *, follow_up: bool = True) -> str:
    """Send (or send again, with its own request id) a pending declaration; return its status.

    :param follow_up: schedule the job's first look at it while it stays open (the job itself,
        sending it again, schedules its own next look instead)
    """

    def prepare(declaration: Declaration) -> Callable[[], object] | None:
        if declaration.status != DeclarationStatus.PENDING:
            return None
        request = antom_declarations.DeclareRequest(
            declaration_request_id=declaration.request_id,
            payment_id=declaration.payment.provider_payment_id,
            amount=declaration.amount,
            customs_code=declaration.customs_code,
            merchant_customs_code=declaration.merchant_customs_code,
            merchant_customs_name=declaration.merchant_customs_name,
            region=declaration.customs_region,
        )
        return partial(ANTOM.client().declare, request)

    return provider_step(
        Declaration,
        declaration_id,
        prepare,
        partial(_declare_answered, follow_up),
        unsent=lambda declaration: declaration.status if declaration else "missing",
    )


def _declare_answered(follow_up: bool, session: Session, declaration: Declaration, call: Call) -> str:
    if call.news is not None:
        settle(lambda: apply_declaration_news(session, declaration, call.news))
    else:
        # Unknown: kept pending with what the provider said, and sent again by the job.
        declaration.result_code, declaration.result_message = call.code, call.message
    if follow_up and declaration.status in OPEN_DECLARATION:
        schedule_refresh(session, declaration.payment_id)
    return declaration.status


def apply_declaration_news(session: Session, declaration: Declaration, news: DeclarationNews) -> bool:
    """Move ``declaration`` by what the provider said and keep its facts; audit a refusal or rejection.

    :raises IgnoredEvent: duplicate or late news; nothing changed
    :raises InvalidTransition: the news contradicts the status; nothing changed
    """

    def facts(_status) -> None:
        declaration.provider_declaration_id = (
            news.provider_declaration_id or declaration.provider_declaration_id
        )
        declaration.customs_order_id = news.customs_order_id or declaration.customs_order_id
        declaration.customs_answered_at = news.customs_answered_at or declaration.customs_answered_at

    moved = move(
        session,
        declaration,
        DECLARATION_MACHINE,
        news.event,
        result=(news.code, news.message),
        facts=facts,
        summary={"result_code": news.code} if news.code else None,
    )
    if moved and declaration.status in (DeclarationStatus.REFUSED, DeclarationStatus.REJECTED):
        audit.record(
            session,
            f"payment.declaration_{declaration.status}",
            object_type=ObjectType.PAYMENT,
            object_id=declaration.payment_id,
            after={**declaration.timeline.extra, "result_code": news.code, "result_message": news.message},
        )
    return moved


def schedule_refresh(session: Session, payment_id: int, attempt: int = 0) -> None:
    """Look at the payment's open declarations again after the back-off's next step (none after the last)."""
    if attempt < len(REFRESH_BACKOFF):
        enqueue_after_commit(
            session, REFRESH_DECLARATIONS, payment_id, attempt, delay=REFRESH_BACKOFF[attempt]
        )


def refresh_declarations(payment_id: int, attempt: int | None = None) -> int:
    """Send the payment's pending declarations again and ask where the submitted ones stand.

    :param attempt: the job's step in :data:`REFRESH_BACKOFF` (the next is scheduled while any
        stays open); None when staff asked from the page (audited as theirs, nothing scheduled)
    :returns: how many of its declarations are still open
    """
    pending = _open_ids(payment_id, DeclarationStatus.PENDING)
    for declaration_id in pending:
        send_declaration(declaration_id, follow_up=False)
    submitted = _open_ids(payment_id, DeclarationStatus.SUBMITTED)
    if submitted:
        provider_step(
            Payment, payment_id, partial(_inquiry, submitted), partial(_inquiry_answered, submitted)
        )
    with write_transaction(db.session) as session:
        still_open = len(_open_ids(payment_id, *OPEN_DECLARATION, session=session))
        if attempt is None:
            audit.record(
                session,
                "payment.declarations_refreshed",
                object_type=ObjectType.PAYMENT,
                object_id=payment_id,
                after={"asked": len(pending) + len(submitted), "open": still_open},
            )
        elif still_open:
            schedule_refresh(session, payment_id, attempt + 1)
    return still_open


def _open_ids(payment_id: int, *statuses: str, session: Session | None = None) -> list[int]:
    statement = (
        select(Declaration.id)
        .where(Declaration.payment_id == payment_id, Declaration.status.in_(statuses))
        .order_by(Declaration.id)
        .limit(INQUIRY_BATCH)
    )
    ids = list((session or db.session).scalars(statement))
    if session is None:
        db.session.rollback()
    return ids


def _inquiry(declaration_ids: list[int], payment: Payment) -> Callable[[], object] | None:
    request_ids = list(
        db.session.scalars(select(Declaration.request_id).where(Declaration.id.in_(declaration_ids)))
    )
    return partial(ANTOM.client().inquiry_declarations, request_ids) if request_ids else None


def _inquiry_answered(declaration_ids: list[int], session: Session, payment: Payment, call: Call) -> None:
    if call.result is None:
        return  # no answer: the next look asks again
    for declaration_id in declaration_ids:
        declaration = locked(session, Declaration, declaration_id)
        record = call.result.record_of(declaration.request_id)
        news = None if record is None else record.news
        if news is not None:
            settle(partial(apply_declaration_news, session, declaration, news))


def declaration_result(declaration: Declaration) -> tuple[str, str]:
    """Say what became of a declaration just sent, and how it reads: ``success``, ``info`` or ``error``."""
    provider = provider_label(declaration.payment.provider)
    status = DeclarationStatus(declaration.status)
    amount = format_money(declaration.amount)
    if status is DeclarationStatus.REFUSED:
        said = refusal_words(
            declaration.payment.provider,
            declaration.result_code,
            declaration.result_message,
            About.DECLARATION,
        )
        return _("%(provider)s refused the declaration: %(said)s", provider=provider, said=said), "error"
    if status is DeclarationStatus.PENDING:
        return _(
            "%(provider)s has not confirmed the declaration yet; it is sent again with the same id.",
            provider=provider,
        ), "info"
    customs = declaration.customs_code
    if status is DeclarationStatus.REJECTED:
        return _(
            "Customs rejected the declaration of %(amount)s to %(customs)s.", amount=amount, customs=customs
        ), "error"
    if status is DeclarationStatus.DECLARED:
        return _(
            "Customs accepted the declaration of %(amount)s to %(customs)s.", amount=amount, customs=customs
        ), "success"
    return (
        _(
            "%(provider)s accepted the declaration of %(amount)s to %(customs)s; "
            "this page shows customs' answer when it comes.",
            provider=provider,
            amount=amount,
            customs=customs,
        ),
        "success",
    )
