"""What a provider's result code means to staff, and what they do next (DESIGN §9 "code guidance").

Each provider keeps its table as data in its own package (``providers/<name>/guidance.py``) and
hands it to its registry entry; pages ask :func:`dashboard.providers.registry.guidance`. The same
code can mean different things on a payment, a refund, a cancel or an agreement (Antom's
``PROCESS_FAIL`` on a cancel means "already refunded"), so a table holds general rows and rows
for one kind of object that win over them.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from types import MappingProxyType


class About(enum.StrEnum):
    """What a kept result code belongs to."""

    PAYMENT = "payment"
    REFUND = "refund"
    CANCEL = "cancel"
    AGREEMENT = "agreement"
    DECLARATION = "declaration"


@dataclass(frozen=True)
class Guidance:
    """One code explained for customer-service staff."""

    #: What happened, in plain words.
    meaning: str
    #: What staff do next: what to tell the customer, whether to try again, whom to contact.
    next_step: str
    #: False when nothing is asked of staff (a success, or a state the back office follows up
    #: by itself); short views (the timeline) then show the meaning alone.
    act: bool = True


def row(meaning: str, next_step: str, *, act: bool = True) -> Guidance:
    """Return one row of a guidance table."""
    return Guidance(meaning, next_step, act)


@dataclass(frozen=True)
class GuidanceTable:
    """A provider's guidance: general rows, and rows for one kind of object that win over them."""

    general: Mapping[str, Guidance]
    specific: Mapping[About, Mapping[str, Guidance]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "general", MappingProxyType(dict(self.general)))
        object.__setattr__(
            self,
            "specific",
            MappingProxyType({about: MappingProxyType(dict(rows)) for about, rows in self.specific.items()}),
        )

    def __call__(self, code: str, about: About | None = None) -> Guidance | None:
        """Return the guidance for ``code`` kept on ``about`` (its own row first), or None."""
        if about is not None:
            own = self.specific.get(about, {}).get(code)
            if own is not None:
                return own
        return self.general.get(code)

    def codes(self) -> frozenset[str]:
        """Return every code that has a row, general or specific."""
        return frozenset(self.general).union(*(rows.keys() for rows in self.specific.values()))


def no_guidance(code: str, about: About | None = None) -> Guidance | None:
    """Return nothing: the guidance of a provider that has none yet."""
    return None
