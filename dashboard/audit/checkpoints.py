"""Checkpoints of the audit chain kept outside the database, and the check against them.

A checkpoint is the chain's length and newest hash at a moment (``audit checkpoint seq=… hash=…``),
written to the log and, when ``AUDIT_CHECKPOINT_FILE`` is set, appended to that file every
``AUDIT_CHECKPOINT_MINUTES``; an operator keeps them where whoever can write the database cannot
(a log store, another machine). ``audit-verify --checkpoint`` then proves that the chain still
holds every entry up to each checkpoint, unchanged: deleting the newest entries and rewinding the
chain head, which needs no key, fails that check.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.audit.models import AuditChainHead
from dashboard.audit.models import AuditLog

log = logging.getLogger(__name__)

_LINE = re.compile(r"seq=(\d+) hash=([0-9a-f]{64})")


@dataclass(frozen=True)
class Checkpoint:
    """The chain's length and its newest entry's hash."""

    seq: int
    hash: str

    def line(self, at: datetime) -> str:
        """Say the checkpoint as one line (what the log and the file hold)."""
        return f"audit checkpoint seq={self.seq} hash={self.hash} at={at.isoformat()}"


def current_checkpoint(session: Session) -> Checkpoint | None:
    """Return the chain head as a checkpoint, or None before the first entry."""
    head = session.get(AuditChainHead, 1)
    return Checkpoint(head.seq, head.hash) if head is not None and head.seq else None


def write_checkpoint(checkpoint: Checkpoint, at: datetime, path: str | None) -> str:
    """Log ``checkpoint`` and append it to ``path`` when given; return the line."""
    line = checkpoint.line(at)
    log.info(line)
    if path:
        with Path(path).open("a", encoding="utf-8") as kept:
            kept.write(line + "\n")
    return line


def parse_checkpoint(text: str) -> Checkpoint:
    """Read one checkpoint given as ``SEQ:HASH``.

    :raises ValueError: it is not that (a sequence number, a colon, 64 lower-case hex digits)
    """
    match = re.fullmatch(r"(\d+):([0-9a-f]{64})", text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not SEQ:HASH (a number, a colon, 64 lower-case hex digits)")
    return Checkpoint(int(match[1]), match[2])


def parse_checkpoints(lines: Iterable[str]) -> list[Checkpoint]:
    """Read checkpoints from lines (``seq=N hash=H`` anywhere in each; other lines are skipped).

    :raises ValueError: no line holds a checkpoint
    """
    found = [Checkpoint(int(match[1]), match[2]) for line in lines if (match := _LINE.search(line))]
    if not found:
        raise ValueError("no checkpoint (seq=<n> hash=<64 hex digits>) found")
    return found


def checkpoint_problems(session: Session, checkpoints: Iterable[Checkpoint]) -> list[str]:
    """Return what each checkpoint finds wrong with the chain (nothing: every one still holds)."""
    problems = []
    for checkpoint in checkpoints:
        stored = session.scalar(select(AuditLog.hash).where(AuditLog.seq == checkpoint.seq))
        if stored is None:
            problems.append(f"entry #{checkpoint.seq} of a checkpoint is gone: the chain was cut back")
        elif stored != checkpoint.hash:
            problems.append(f"entry #{checkpoint.seq} no longer has the checkpoint's hash: it was rewritten")
    return problems
