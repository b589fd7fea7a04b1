"""The batch and submission machines: every allowed move, and the moves that must raise."""

from __future__ import annotations

import pytest

from dashboard.ach.states import BATCH_MACHINE
from dashboard.ach.states import SUBMISSION_MACHINE
from dashboard.ach.states import BatchEvent
from dashboard.ach.states import BatchStatus
from dashboard.ach.states import SubmissionEvent
from dashboard.ach.states import SubmissionStatus
from dashboard.ach.states import batch_ending
from dashboard.machine import IgnoredEvent
from dashboard.machine import InvalidTransition

B = BatchStatus
BE = BatchEvent


@pytest.mark.parametrize(
    ("status", "event", "after"),
    [
        (B.DRAFT, BE.SUBMITTED_FOR_APPROVAL, B.AWAITING_APPROVAL),
        (B.DRAFT, BE.DISCARDED, B.DISCARDED),
        (B.DRAFT, BE.FILE_REPLACED, B.DRAFT),
        (B.AWAITING_APPROVAL, BE.APPROVED, B.APPROVED),
        (B.AWAITING_APPROVAL, BE.REJECTED, B.REJECTED),
        (B.REJECTED, BE.FILE_REPLACED, B.DRAFT),
        (B.REJECTED, BE.DISCARDED, B.DISCARDED),
        (B.APPROVED, BE.SENDING, B.SUBMITTING),
        (B.SUBMITTING, BE.SENT, B.PROCESSING),
        (B.PROCESSING, BE.COMPLETED, B.COMPLETED),
        (B.PROCESSING, BE.COMPLETED_WITH_FAILURES, B.COMPLETED_WITH_FAILURES),
        (B.PROCESSING, BE.FAILED, B.FAILED),
        (B.SUBMITTING, BE.FAILED, B.FAILED),
    ],
)
def test_a_batch_moves_as_its_table_says(status, event, after):
    assert BATCH_MACHINE.next(status, event) is after


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (B.DRAFT, BE.APPROVED),
        (B.DRAFT, BE.SENDING),
        (B.DRAFT, BE.COMPLETED),
        (B.AWAITING_APPROVAL, BE.SENDING),
        (B.AWAITING_APPROVAL, BE.DISCARDED),
        (B.AWAITING_APPROVAL, BE.FILE_REPLACED),
        (B.APPROVED, BE.DISCARDED),
        (B.APPROVED, BE.REJECTED),
        (B.PROCESSING, BE.FILE_REPLACED),
        (B.COMPLETED, BE.DISCARDED),
        (B.FAILED, BE.APPROVED),
        (B.DISCARDED, BE.SUBMITTED_FOR_APPROVAL),
        (B.REJECTED, BE.APPROVED),
    ],
)
def test_a_batch_refuses_moves_its_table_does_not_have(status, event):
    with pytest.raises(InvalidTransition):
        BATCH_MACHINE.next(status, event)


@pytest.mark.parametrize("status", [B.COMPLETED, B.COMPLETED_WITH_FAILURES, B.FAILED])
def test_an_ended_batch_keeps_its_ending_when_the_bank_repeats_itself(status):
    with pytest.raises(IgnoredEvent):
        BATCH_MACHINE.next(status, BE.COMPLETED)


def test_every_status_has_a_row_and_nothing_leaves_discarded_or_an_ending():
    for status in (B.DISCARDED, B.COMPLETED, B.COMPLETED_WITH_FAILURES, B.FAILED):
        assert BATCH_MACHINE.allowed(status) == frozenset()


S = SubmissionStatus
SE = SubmissionEvent


@pytest.mark.parametrize(
    ("status", "event", "after"),
    [
        (S.PENDING, SE.RECEIVED, S.RECEIVED),
        (S.PENDING, SE.ANSWER_LOST, S.SUBMITTED),
        (S.PENDING, SE.REFUSED, S.FAILED),
        (S.SUBMITTED, SE.RECEIVED, S.RECEIVED),
        (S.SUBMITTED, SE.PARTIALLY_SETTLED, S.COMPLETED_WITH_FAILURES),
        (S.RECEIVED, SE.SETTLED, S.COMPLETED),
        (S.RECEIVED, SE.REJECTED, S.REJECTED),
    ],
)
def test_a_submission_moves_as_the_bank_answers(status, event, after):
    assert SUBMISSION_MACHINE.next(status, event) is after


def test_a_submission_with_the_bank_cannot_be_refused_and_an_ended_one_never_moves():
    with pytest.raises(InvalidTransition):
        SUBMISSION_MACHINE.next(S.RECEIVED, SE.REFUSED)
    for status in (S.COMPLETED, S.COMPLETED_WITH_FAILURES, S.REJECTED, S.FAILED):
        for event in SE:
            with pytest.raises(IgnoredEvent):
                SUBMISSION_MACHINE.next(status, event)


@pytest.mark.parametrize(
    ("paid", "rejected", "ending"),
    [(3, 0, BE.COMPLETED), (2, 1, BE.COMPLETED_WITH_FAILURES), (0, 3, BE.FAILED)],
)
def test_a_batch_ends_by_what_was_paid(paid, rejected, ending):
    assert batch_ending(paid, rejected) is ending
