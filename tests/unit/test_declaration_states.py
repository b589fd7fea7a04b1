"""The declaration status machine: forward only, repeats are late, contradictions need a human."""

from __future__ import annotations

import pytest

from dashboard.declarations.states import DECLARATION_MACHINE
from dashboard.declarations.states import OPEN_DECLARATION
from dashboard.declarations.states import DeclarationEvent as E
from dashboard.declarations.states import DeclarationStatus as S
from dashboard.machine import IgnoredEvent
from dashboard.machine import InvalidTransition


@pytest.mark.parametrize(
    ("status", "event", "after"),
    [
        (S.PENDING, E.SUBMITTED, S.SUBMITTED),
        (S.PENDING, E.REFUSED, S.REFUSED),
        # An inquiry may bring customs' answer before the declare answer was committed.
        (S.PENDING, E.DECLARED, S.DECLARED),
        (S.PENDING, E.REJECTED, S.REJECTED),
        (S.SUBMITTED, E.DECLARED, S.DECLARED),
        (S.SUBMITTED, E.REJECTED, S.REJECTED),
    ],
)
def test_declarations_move_forward(status, event, after):
    assert DECLARATION_MACHINE.next(status, event) is after


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (S.SUBMITTED, E.SUBMITTED),
        (S.DECLARED, E.SUBMITTED),
        (S.DECLARED, E.DECLARED),
        (S.REJECTED, E.SUBMITTED),
        (S.REJECTED, E.REJECTED),
        (S.REFUSED, E.REFUSED),
    ],
)
def test_repeats_and_late_news_change_nothing(status, event):
    with pytest.raises(IgnoredEvent):
        DECLARATION_MACHINE.next(status, event)


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (S.SUBMITTED, E.REFUSED),
        (S.DECLARED, E.REJECTED),
        (S.REJECTED, E.DECLARED),
        (S.REFUSED, E.SUBMITTED),
        (S.REFUSED, E.DECLARED),
    ],
)
def test_contradictions_are_refused_for_a_human(status, event):
    with pytest.raises(InvalidTransition):
        DECLARATION_MACHINE.next(status, event)


def test_a_final_declaration_never_moves_again():
    finals = set(S) - OPEN_DECLARATION
    assert finals == {S.DECLARED, S.REFUSED, S.REJECTED}
    assert {status: DECLARATION_MACHINE.allowed(status) for status in finals} == dict.fromkeys(
        finals, frozenset()
    )
