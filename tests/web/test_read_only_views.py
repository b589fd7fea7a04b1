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


#: A URL of every view marked ``reads_only``, and the role that opens it.
READS_ONLY_URLS = {
    "payments.index": ("/payments/", "admin"),
    "payments.rows": ("/payments/rows?id={payment_id}", "admin"),
    "payments.new_rows": ("/payments/new?after=0", "admin"),
    "agreements.index": ("/agreements/", "admin"),
    "agreements.rows": ("/agreements/rows?id=1", "admin"),
    "agreements.new_rows": ("/agreements/new?after=0", "admin"),
    "notifications.index": ("/notifications/", "admin"),
    "notifications.rows": ("/notifications/rows?id=1", "admin"),
    "notifications.new_rows": ("/notifications/new?after=0", "admin"),
    "audit.index": ("/audit/", "admin"),
    "audit.new_rows": ("/audit/new?after=0", "admin"),
    "ach.index": ("/ach/batches/", "admin"),
    "ach.rows": ("/ach/batches/rows?id=1", "admin"),
    "ach.new_rows": ("/ach/batches/since?after=0", "admin"),
    "settlements.index": ("/settlements/", "admin"),
    "approvals.index": ("/approvals/", "manager"),
    "events.live": ("/live?after=0&topic=payment", "admin"),
}


def test_every_view_marked_reads_only_reads_outside_a_transaction_block_and_only_reads(
    app_on_postgresql, in_block, create_user
):
    app = app_on_postgresql
    marked = {endpoint for endpoint, view in app.view_functions.items() if getattr(view, "reads_only", False)}
    assert marked == set(READS_ONLY_URLS)
    with app.app_context():
        payment = make_payment(db.session)
        db.session.commit()
        payment_id = payment.id
    clients = {}
    for role in ("admin", "manager"):
        clients[role] = app.test_client()
        sign_in(clients[role], create_user(role))

    for endpoint, (url, role) in READS_ONLY_URLS.items():
        in_block.clear()
        response = clients[role].get(url.format(payment_id=payment_id))
        assert response.status_code == 200, endpoint
        assert in_block, endpoint
        assert [statement for statement, blocked in in_block if blocked] == [], endpoint
        assert all(statement.startswith("SELECT") for statement, _ in in_block), endpoint

    assert f"payment-{payment_id}" in clients["admin"].get("/payments/").get_data(as_text=True)
    in_block.clear()
    assert clients["admin"].get(f"/payments/{payment_id}").status_code == 200
    assert in_block and all(blocked for _, blocked in in_block)


def test_a_signed_out_request_for_a_list_is_sent_to_sign_in_without_taking_a_connection(app_on_postgresql):
    checkouts = []

    def checked_out(dbapi_connection, record, proxy) -> None:
        checkouts.append(dbapi_connection)

    with app_on_postgresql.app_context():
        engine = db.engine
    event.listen(engine, "checkout", checked_out)
    try:
        response = app_on_postgresql.test_client().get("/payments/")
    finally:
        event.remove(engine, "checkout", checked_out)
    assert response.status_code == 302
    assert checkouts == []


def test_a_write_made_by_a_list_request_still_commits_in_a_transaction(
    app_on_postgresql, in_block, create_user
):
    app = app_on_postgresql
    with app.app_context():
        payment = make_payment(db.session)
        db.session.commit()
        payment_id = payment.id
    client = app.test_client()
    sign_in(client, create_user("viewer"))

    in_block.clear()
    assert client.get("/approvals/").status_code == 403

    # The sign-in check read outside a block; the refusal's audit entry was written inside one.
    first_statement, first_blocked = in_block[0]
    assert first_statement.startswith("SELECT users.") and not first_blocked
    writes = [blocked for statement, blocked in in_block if statement.startswith("INSERT")]
    assert writes and all(writes)
    with app.app_context():
        denied = db.session.scalars(select(AuditLog).where(AuditLog.action == "access.denied")).all()
    assert [entry.object_id for entry in denied] == ["approvals.index"]
    # The connection went back to the pool in the engine's own mode: a page not marked reads in a block.
    in_block.clear()
    assert client.get(f"/payments/{payment_id}").status_code == 200
    assert in_block and all(blocked for _, blocked in in_block)
