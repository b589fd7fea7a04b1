"""On PostgreSQL, the lists and the live poll read without a transaction block (no BEGIN … ROLLBACK
round trips); every other request, and a write a list request makes, keeps its transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy import select

from dashboard.audit.models import AuditLog
from dashboard.extensions import db
from tests.factories import make_payment
from tests.web.conftest import sign_in

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_on_postgresql(make_app) -> Flask:
    app = make_app()
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite keeps BEGIN on every request: it costs no round trip there")
    return app


@pytest.fixture
def in_block(app_on_postgresql: Flask) -> Iterator[list[tuple[str, bool]]]:
    """Collect each statement's first words and whether it runs inside a transaction block.

    psycopg begins a block with the first statement on a connection that is not in autocommit.
    """
    caught: list[tuple[str, bool]] = []

    def before(connection, cursor, statement, parameters, context, executemany) -> None:
        autocommit = connection.connection.dbapi_connection.autocommit
        caught.append((" ".join(statement.split()[:4]), not autocommit))

    with app_on_postgresql.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    yield caught
    event.remove(engine, "before_cursor_execute", before)


def test_list_pages_their_fragments_and_the_live_poll_read_outside_a_transaction_block(
    app_on_postgresql, in_block, create_user
):
    app = app_on_postgresql
    with app.app_context():
        payment = make_payment(db.session)
        db.session.commit()
        payment_id = payment.id
    client = app.test_client()
    sign_in(client, create_user("manager"))

    for url in (
        "/payments/",
        f"/payments/rows?id={payment_id}",
        "/payments/new?after=0",
        "/agreements/",
        "/notifications/",
        "/approvals/",
        "/live?after=0&topic=payment",
    ):
        in_block.clear()
        response = client.get(url)
        assert response.status_code == 200, url
        assert in_block, url
        assert [statement for statement, blocked in in_block if blocked] == [], url

    page = client.get("/payments/")
    assert f"payment-{payment_id}" in page.get_data(as_text=True)
    in_block.clear()
    assert client.get(f"/payments/{payment_id}").status_code == 200
    assert in_block and all(blocked for _, blocked in in_block)


def test_a_write_made_by_a_list_request_still_commits_in_a_transaction(
    app_on_postgresql, in_block, create_user
):
    app = app_on_postgresql
    client = app.test_client()
    sign_in(client, create_user("viewer"))

    in_block.clear()
    assert client.get("/approvals/").status_code == 403

    # The sign-in check read outside a block; the refusal's audit entry was written inside one.
    assert in_block[0] == ("SELECT users.id, users.email, users.name,", False)
    writes = [blocked for statement, blocked in in_block if statement.startswith("INSERT")]
    assert writes and all(writes)
    with app.app_context():
        denied = db.session.scalars(select(AuditLog).where(AuditLog.action == "access.denied")).all()
    assert [entry.object_id for entry in denied] == ["approvals.index"]
    # The connection went back to the pool in its own mode: the next list read is again outside.
    in_block.clear()
    assert client.get("/payments/").status_code == 200
    assert [statement for statement, blocked in in_block if blocked] == []
