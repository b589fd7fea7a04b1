"""The status machine every domain uses: an explicit table, typed errors, no silent moves.

Each machine is one table ``{status: {event: outcome}}``. An outcome is the next status, or
:data:`LATE` (the event is a duplicate or arrived after a later one: record it, change nothing —
:class:`IgnoredEvent`). A pair missing from the table is a contradiction that needs a human
(:class:`InvalidTransition`). Callers map the two errors to log levels and inbox outcomes.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Generic
from typing import TypeVar


class TransitionError(Exception):
    """A status machine refused an event; ``status`` and ``event`` say which."""

    def __init__(self, machine: str, status: str, event: str, why: str):
        super().__init__(f"{machine}: {event} on {status}: {why}")
        self.machine = machine
        self.status = status
        self.event = event


class InvalidTransition(TransitionError):
    """The event contradicts the current status (e.g. a failure after a success): needs a human."""


class IgnoredEvent(TransitionError):
    """A duplicate or late event: record it on the timeline, never move the status backwards."""

    @property
    def confirms(self) -> bool:
        """Return True when the event repeats the current status rather than arriving out of order."""
        return MACHINES[self.machine].confirms(self.status, self.event)


class Late:
    """Table marker: the event is a duplicate or out of date for this status."""

    def __repr__(self) -> str:
        return "LATE"


#: Table outcome for a duplicate or late event (raises :class:`IgnoredEvent`).
LATE = Late()

S = TypeVar("S", bound=enum.StrEnum)
E = TypeVar("E", bound=enum.StrEnum)

#: Every machine by name, so an error's ``machine`` leads back to its table.
MACHINES: dict[str, Machine] = {}


def freeze_table(table: dict) -> Mapping:
    """Return a read-only copy of a transition table."""
    return MappingProxyType({status: MappingProxyType(dict(row)) for status, row in table.items()})


@dataclass(frozen=True)
class Machine(Generic[S, E]):
    """A status machine given by an explicit table; pairs not in it are invalid."""

    name: str
    statuses: type[S]
    events: type[E]
    table: Mapping[S, Mapping[E, S | Late]]

    def __post_init__(self) -> None:
        MACHINES[self.name] = self
        missing = set(self.statuses) - set(self.table)
        if missing:
            raise ValueError(f"{self.name}: no row for {sorted(missing)}")
        for row in self.table.values():
            for event, outcome in row.items():
                if event not in set(self.events) or not (outcome is LATE or outcome in set(self.statuses)):
                    raise ValueError(f"{self.name}: bad table entry {event!r} → {outcome!r}")

    def next(self, current: S | str, event: E | str) -> S:
        """Return the status after ``event``; raise :class:`IgnoredEvent` or :class:`InvalidTransition`."""
        status = self.statuses(current)
        what = self.events(event)
        outcome = self.table[status].get(what)
        if outcome is None:
            raise InvalidTransition(self.name, status, what, "not allowed")
        if outcome is LATE:
            raise IgnoredEvent(self.name, status, what, "duplicate or late; status kept")
        return outcome  # type: ignore[return-value]

    def target(self, event: E | str) -> S | None:
        """Return the status ``event`` leads to from the earliest status that accepts it."""
        what = self.events(event)
        for status in self.statuses:
            outcome = self.table[status].get(what)
            if outcome is not None and outcome is not LATE:
                return outcome  # type: ignore[return-value]
        return None

    def confirms(self, current: S | str, event: E | str) -> bool:
        """Return True when ``event`` only repeats what ``current`` says (a confirmation, not news)."""
        return self.target(event) == self.statuses(current)

    def allowed(self, current: S | str) -> frozenset[E]:
        """Return the events that move (or keep, for notes) ``current``."""
        row = self.table[self.statuses(current)]
        return frozenset(event for event, outcome in row.items() if outcome is not LATE)
