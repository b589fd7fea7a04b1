"""Database-level rules of payroll batches, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from dashboard.ach.models import AchItem
from dashboard.ach.states import ItemStatus
from dashboard.extensions import db
from tests.ach.batch_helpers import items_of
from tests.ach.batch_helpers import payee
from tests.ach.batch_helpers import upload


@pytest.fixture
def item(app_ctx, create_user, fake_clock) -> AchItem:
    uploaded = upload([payee(1)], create_user("finance").id)
    return items_of(uploaded.batch_id)[0]


def _set_status(item_id: int, status: str) -> None:
    with db.session.begin_nested():
        db.session.execute(update(AchItem).where(AchItem.id == item_id).values(status=status))


def test_an_item_takes_every_item_status(item):
    for status in ItemStatus:
        _set_status(item.id, status.value)
        assert db.session.get(AchItem, item.id, populate_existing=True).status == status.value


@pytest.mark.parametrize("status", ["lost", "VALID", ""])
def test_an_item_status_outside_the_list_is_refused(item, status):
    with pytest.raises(IntegrityError):
        _set_status(item.id, status)
