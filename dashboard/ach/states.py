"""Payroll batch, submission and item statuses and their machines (DESIGN §4, §5 "ACH batch").

A batch is uploaded as a ``draft`` (a preview that may hold errors), waits for a manager, is
sent in submissions of at most 1,000 items and ends when every item is final. A submission is
one request to the bank under its own message id, stored before it is sent.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from dashboard.machine import LATE
from dashboard.machine import Late
from dashboard.machine import Machine
from dashboard.machine import freeze_table

# --- batches ---------------------------------------------------------------------------------------


class BatchStatus(enum.StrEnum):
    """Where a payroll batch stands."""

    #: Uploaded; the preview shows its rows, errors and warnings; nothing is sent.
    DRAFT = "draft"
    #: Finance submitted it; a manager who did not upload it approves or rejects it.
    AWAITING_APPROVAL = "awaiting_approval"
    #: Approved; its submissions are stored and the submit job is queued.
    APPROVED = "approved"
    #: Being sent to the bank, submission by submission.
    SUBMITTING = "submitting"
    #: Every submission is with the bank; its items are followed until they are final.
    PROCESSING = "processing"
    #: Every item paid.
    COMPLETED = "completed"
    #: Some items paid, others rejected.
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    #: Nothing paid: the bank rejected every item or the whole batch.
    FAILED = "failed"
    #: Thrown away by finance before approval; nothing was sent.
    DISCARDED = "discarded"
    #: A manager rejected it; a corrected file makes it a draft again.
    REJECTED = "rejected"


#: Statuses in which nothing has left and the file may still be replaced.
EDITABLE_BATCH = frozenset({BatchStatus.DRAFT, BatchStatus.REJECTED})
#: Statuses of an approved batch whose jobs still have work to do.
RUNNING_BATCH = frozenset({BatchStatus.APPROVED, BatchStatus.SUBMITTING, BatchStatus.PROCESSING})


class BatchEvent(enum.StrEnum):
    """What can happen to a batch."""

    #: Finance asks for approval (no errors; warnings acknowledged).
    SUBMITTED_FOR_APPROVAL = "submitted_for_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISCARDED = "discarded"
    #: A corrected file replaced the items.
    FILE_REPLACED = "file_replaced"
    #: The submit job started sending.
    SENDING = "sending"
    #: Every submission reached the bank (or was refused before it).
    SENT = "sent"
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    FAILED = "failed"


B = BatchStatus
BE = BatchEvent
_ENDINGS = {
    BE.COMPLETED: B.COMPLETED,
    BE.COMPLETED_WITH_FAILURES: B.COMPLETED_WITH_FAILURES,
    BE.FAILED: B.FAILED,
}
_ENDED = {event: LATE for event in (BE.SENDING, BE.SENT, *_ENDINGS)}

BATCH_TRANSITIONS: Mapping[BatchStatus, Mapping[BatchEvent, BatchStatus | Late]] = freeze_table(
    {
        B.DRAFT: {
            BE.SUBMITTED_FOR_APPROVAL: B.AWAITING_APPROVAL,
            BE.DISCARDED: B.DISCARDED,
            BE.FILE_REPLACED: B.DRAFT,
        },
        B.AWAITING_APPROVAL: {
            BE.SUBMITTED_FOR_APPROVAL: LATE,
            BE.APPROVED: B.APPROVED,
            BE.REJECTED: B.REJECTED,
        },
        B.APPROVED: {BE.APPROVED: LATE, BE.SENDING: B.SUBMITTING, BE.SENT: B.PROCESSING, **_ENDINGS},
        B.SUBMITTING: {BE.SENDING: LATE, BE.SENT: B.PROCESSING, **_ENDINGS},
        B.PROCESSING: {BE.SENDING: LATE, BE.SENT: LATE, **_ENDINGS},
        B.COMPLETED: dict(_ENDED),
        B.COMPLETED_WITH_FAILURES: dict(_ENDED),
        B.FAILED: dict(_ENDED),
        B.DISCARDED: {BE.DISCARDED: LATE},
        B.REJECTED: {BE.REJECTED: LATE, BE.FILE_REPLACED: B.DRAFT, BE.DISCARDED: B.DISCARDED},
    }
)
BATCH_MACHINE = Machine("ach_batch", BatchStatus, BatchEvent, BATCH_TRANSITIONS)


# --- submissions -----------------------------------------------------------------------------------


class SubmissionStatus(enum.StrEnum):
    """Where one request to the bank stands (the words of the batch's statuses where they fit)."""

    #: Stored with its message id; not sent yet.
    PENDING = "pending"
    #: Sent, but the answer was lost (timeout, 5xx): resent only if the bank never got it.
    SUBMITTED = "submitted"
    #: The bank has it and is working on it.
    RECEIVED = "received"
    #: Every item paid.
    COMPLETED = "completed"
    #: Some items paid, others rejected.
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    #: The bank rejected it whole (or every item).
    REJECTED = "rejected"
    #: Refused before it reached the bank (it breaks a rule the bank checks); nothing was sent.
    FAILED = "failed"


FINAL_SUBMISSION = frozenset(
    {
        SubmissionStatus.COMPLETED,
        SubmissionStatus.COMPLETED_WITH_FAILURES,
        SubmissionStatus.REJECTED,
        SubmissionStatus.FAILED,
    }
)


class SubmissionEvent(enum.StrEnum):
    """What the bank's answers mean for a submission."""

    #: The bank has it (its answer, or a status report found after a lost answer).
    RECEIVED = "received"
    #: The answer to sending it was lost.
    ANSWER_LOST = "answer_lost"
    SETTLED = "settled"
    PARTIALLY_SETTLED = "partially_settled"
    REJECTED = "rejected"
    REFUSED = "refused"


S = SubmissionStatus
SE = SubmissionEvent
_SUBMISSION_ENDINGS = {
    SE.SETTLED: S.COMPLETED,
    SE.PARTIALLY_SETTLED: S.COMPLETED_WITH_FAILURES,
    SE.REJECTED: S.REJECTED,
}
_SUBMISSION_ENDED = {event: LATE for event in SE}

SUBMISSION_TRANSITIONS: Mapping[SubmissionStatus, Mapping[SubmissionEvent, SubmissionStatus | Late]] = (
    freeze_table(
        {
            S.PENDING: {
                SE.RECEIVED: S.RECEIVED,
                SE.ANSWER_LOST: S.SUBMITTED,
                SE.REFUSED: S.FAILED,
                **_SUBMISSION_ENDINGS,
            },
            S.SUBMITTED: {
                SE.RECEIVED: S.RECEIVED,
                SE.ANSWER_LOST: LATE,
                SE.REFUSED: S.FAILED,
                **_SUBMISSION_ENDINGS,
            },
            S.RECEIVED: {SE.RECEIVED: LATE, SE.ANSWER_LOST: LATE, **_SUBMISSION_ENDINGS},
            S.COMPLETED: dict(_SUBMISSION_ENDED),
            S.COMPLETED_WITH_FAILURES: dict(_SUBMISSION_ENDED),
            S.REJECTED: dict(_SUBMISSION_ENDED),
            S.FAILED: dict(_SUBMISSION_ENDED),
        }
    )
)
SUBMISSION_MACHINE = Machine("ach_submission", SubmissionStatus, SubmissionEvent, SUBMISSION_TRANSITIONS)


# --- items -----------------------------------------------------------------------------------------


class ItemStatus(enum.StrEnum):
    """Where one payee's line stands: checked before sending, then as the bank reports it."""

    #: No error: it will be sent.
    VALID = "valid"
    #: It has an error: the batch cannot be submitted until a corrected file replaces it.
    INVALID = "invalid"
    #: The bank received it.
    RECEIVED = "received"
    #: The bank accepted its format and signature.
    ACCEPTED = "accepted"
    #: Waiting for the value date or for clearing.
    PENDING = "pending"
    #: Paid to the payee's account.
    PAID = "paid"
    #: Not paid; the reason code says why.
    REJECTED = "rejected"


FINAL_ITEM = frozenset({ItemStatus.PAID, ItemStatus.REJECTED})
#: The order in which an item moves at the bank: news never moves it backwards.
ITEM_PROGRESS: Mapping[ItemStatus, int] = {
    ItemStatus.VALID: 0,
    ItemStatus.RECEIVED: 1,
    ItemStatus.ACCEPTED: 2,
    ItemStatus.PENDING: 3,
    ItemStatus.PAID: 4,
    ItemStatus.REJECTED: 4,
}


def batch_ending(paid: int, rejected: int) -> BatchEvent:
    """Return how a batch whose items are all final ends: every one paid, some, or none."""
    if rejected == 0:
        return BatchEvent.COMPLETED
    return BatchEvent.COMPLETED_WITH_FAILURES if paid else BatchEvent.FAILED
