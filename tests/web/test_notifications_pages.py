"""The notifications inbox: list, filters, search, keyset pages, detail with redaction, Reprocess, Ask."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
import requests
from sqlalchemy import event
from sqlalchemy import select

from dashboard import clock
from dashboard import listing
from dashboard.agreements import service as agreements
from dashboard.agreements.models import Agreement
from dashboard.audit.models import AuditLog
from dashboard.events.models import Event
from dashboard.extensions import db
from dashboard.listing import PAGE_SIZE
from dashboard.money import Money
from dashboard.notifications import service
from dashboard.notifications.models import Notification
from dashboard.notifications.queries import DUPLICATES_SHOWN
from dashboard.payments import service as payments
from dashboard.users import service as users
from tests.agreements.test_agreement_service import authorised
from tests.conftest import TEST_PASSWORD
from tests.sandbox import helpers

NOON_HKT = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)
#: A made-up access token the pages must never show.
TOKEN = "20260105ACCESSTOKEN7f3a9c2e1b"


def antom_payment(payment_id: str, status: str = "S") -> dict:
    return {
        "notifyType": "PAYMENT_RESULT",
        "result": {"resultCode": "SUCCESS", "resultStatus": status, "resultMessage": "success."},
        "paymentRequestId": f"pay-{payment_id}",
        "paymentId": payment_id,
        "paymentAmount": {"currency": "HKD", "value": "10001"},
    }


def worldpay_event(event_id: str, reference: str, kind: str = "authorized") -> dict:
    return {
        "eventId": event_id,
        "eventTimestamp": "2026-01-05T04:00:00Z",
        "eventDetails": {"type": kind, "transactionReference": reference},
    }


@pytest.fixture
def stored(app) -> Callable[..., int]:
    """Return a factory that stores one notification (committed on the rolled-back tier) and gives its id."""

    def store(
        provider: str = "antom",
        kind: str = "PAYMENT_RESULT",
        body: dict | bytes | None = None,
        **fields,
    ) -> int:
        raw = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
        fields.setdefault("headers", {"Content-Type": "application/json"})
        fields.setdefault("received_at", clock.now())
        fields.setdefault("verdict", "valid")
        with app.app_context():
            row = Notification(provider=provider, kind=kind, body=raw, **fields)
            db.session.add(row)
            db.session.commit()
            return row.id

    return store


def shown_ids(response) -> list[int]:
    return [
        int(found) for found in re.findall(r'<tr id="notification-(\d+)"', response.get_data(as_text=True))
    ]


def older_link(response) -> str | None:
    found = re.search(
        r'<a href="([^"]+)"\s+hx-get="[^"]+"[^>]*>Older notifications', response.get_data(as_text=True)
    )
    return found.group(1).replace("&amp;", "&") if found else None


def row_html(response, notification_id: int) -> str:
    page = response.get_data(as_text=True)
    found = re.search(rf'<tr id="notification-{notification_id}">(.*?)</tr>', page, re.S)
    assert found, f"notification {notification_id} is not listed"
    return found.group(1)


# --- the list ----------------------------------------------------------------------------------


def test_inbox_lists_notifications_newest_first_with_their_columns(client, login_as, stored):
    login_as("viewer")
    original = stored(
        body=antom_payment("2026A1"),
        reference="2026A1",
        dedup_key="PAYMENT_RESULT:2026A1:S",
        verdict="valid",
        outcome="applied",
        object_type="payment",
        object_id="7",
        attempts=1,
        received_at=NOON_HKT,
    )
    duplicate = stored(
        body=antom_payment("2026A1"),
        reference="2026A1",
        dedup_key="PAYMENT_RESULT:2026A1:S",
        verdict="valid",
        outcome="duplicate",
        duplicate_of_id=original,
        received_at=NOON_HKT + timedelta(minutes=1),
    )
    failed = stored(
        "worldpay",
        "authorized",
        worldpay_event("evt-1", "wp-1"),
        reference="wp-1",
        verdict="valid",
        outcome="failed",
        processing_error="InvalidTransition: cancelled → succeeded",
        attempts=3,
        received_at=NOON_HKT + timedelta(minutes=2),
    )
    agreement = stored(
        kind="AUTHCODE_CREATED",
        verdict="valid",
        outcome="applied",
        object_type="agreement",
        object_id="3",
        received_at=NOON_HKT + timedelta(minutes=3),
    )

    response = client.get("/notifications/")

    assert response.status_code == 200
    assert shown_ids(response) == [agreement, failed, duplicate, original]
    first = row_html(response, original)
    assert "2026-01-05 12:00:00" in first  # Hong Kong time
    assert "antom" in first and "PAYMENT_RESULT" in first and "2026A1" in first
    assert '<a href="/payments/7">payment 7</a>' in first
    assert ">valid</span>" in first and ">processed</span>" in first
    assert f'of <a href="/notifications/{original}">#{original}</a>' in row_html(response, duplicate)
    failed_row = row_html(response, failed)
    assert ">failed</span>" in failed_row and "InvalidTransition: cancelled → succeeded" in failed_row
    assert '<td class="num">3</td>' in failed_row
    assert '<a href="/agreements/3">agreement 3</a>' in row_html(response, agreement)


@pytest.mark.parametrize("role", ["viewer", "support", "finance", "manager", "admin"])
def test_every_role_reads_the_inbox_and_a_notification(client, login_as, stored, role):
    login_as(role)
    notification_id = stored(verdict="valid", outcome="pending")
    assert client.get("/notifications/").status_code == 200
    assert client.get(f"/notifications/{notification_id}").status_code == 200


def test_the_list_and_search_never_page_with_offset_or_counts(app, client, login_as, stored):
    login_as("viewer")
    for minute in range(PAGE_SIZE + 5):
        stored(
            reference=f"2026{minute:04d}",
            verdict="valid",
            outcome="applied",
            received_at=NOON_HKT + timedelta(minutes=minute),
        )
    statements: list[tuple[str, object]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement.lower(), parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        first = client.get("/notifications/?provider=antom&q=20")
        client.get(older_link(first))
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    newest = [sql for sql, _ in statements if "from notifications order by notifications.id desc" in sql]
    assert len(newest) == 2  # per page: the newest id, where the live bar starts counting
    listing = [(sql, parameters) for sql, parameters in statements if "from notifications" in sql]
    listing = [(sql, parameters) for sql, parameters in listing if sql not in newest]
    assert len(listing) == 4  # per page: the prefix probe, then the page
    assert not [sql for sql, _ in listing if "count(" in sql]
    # SQLite's dialect always renders "LIMIT ? OFFSET ?"; the offset must stay 0.
    assert {parameters[-1] for sql, parameters in listing if " offset " in sql} <= {0}
    assert "notifications.id < " in listing[3][0]


def test_older_notifications_are_reached_by_keyset_pages_without_gaps_or_repeats(client, login_as, stored):
    login_as("viewer")
    # Several rows share a received_at: the id breaks the tie.
    made = [
        stored(verdict="valid", outcome="applied", received_at=NOON_HKT + timedelta(seconds=index // 3))
        for index in range(PAGE_SIZE + 7)
    ]

    first = client.get("/notifications/?verdict=valid")
    link = older_link(first)
    assert link and "verdict=valid" in link and f"before={shown_ids(first)[-1]}" in link
    second = client.get(link)

    assert len(shown_ids(first)) == PAGE_SIZE
    assert shown_ids(first) + shown_ids(second) == sorted(made, reverse=True)
    assert older_link(second) is None


def test_a_malformed_page_cursor_starts_at_the_top(client, login_as, stored):
    login_as("viewer")
    top = stored(verdict="valid", outcome="applied")
    assert shown_ids(client.get("/notifications/?before=-5")) == [top]
    assert shown_ids(client.get("/notifications/?before=5.5")) == [top]


def test_htmx_filtering_returns_only_the_results_block(client, login_as, stored):
    login_as("viewer")
    stored(verdict="valid", outcome="late")
    response = client.get("/notifications/?outcome=late", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="results"')
    assert ">late</span>" in body
    assert "<html" not in body and 'id="notification-filters"' not in body
    assert "HX-Request" in response.headers["Vary"]


def test_filters_by_provider_kind_verdict_and_outcome(client, login_as, stored):
    login_as("viewer")
    applied = stored(verdict="valid", outcome="applied")
    late = stored(verdict="valid", outcome="late")
    forged = stored(verdict="invalid", outcome="rejected")
    unsigned = stored("worldpay", "refused", verdict="missing", outcome="rejected")
    unmatched = stored("worldpay", "authorized", verdict="valid", outcome="unmatched")

    assert set(shown_ids(client.get("/notifications/?provider=worldpay"))) == {unsigned, unmatched}
    assert set(shown_ids(client.get("/notifications/?kind=refused"))) == {unsigned}
    assert set(shown_ids(client.get("/notifications/?verdict=invalid"))) == {forged}
    assert set(shown_ids(client.get("/notifications/?outcome=rejected"))) == {forged, unsigned}
    assert set(shown_ids(client.get("/notifications/?outcome=applied&provider=antom"))) == {applied}
    assert set(shown_ids(client.get("/notifications/?outcome=late"))) == {late}
    assert "No notifications match these filters." in client.get("/notifications/?outcome=pending").get_data(
        as_text=True
    )


def test_the_kind_filter_offers_antoms_dispute_notifications(client, login_as, stored):
    login_as("viewer")
    created = stored(kind="DISPUTE_CREATED")
    stored(kind="DISPUTE_JUDGED")

    page = client.get("/notifications/").get_data(as_text=True)
    for kind in (
        "DISPUTE_CREATED",
        "DISPUTE_JUDGED",
        "DISPUTE_CANCELLED",
        "DEFENSE_SUPPLIED",
        "DEFENSE_DUE_ALERT",
        "DISPUTE_ACCEPTED",
        "RDR_RESOLVED",
    ):
        assert f'<option value="{kind}">{kind} (Antom)</option>' in page
    assert shown_ids(client.get("/notifications/?kind=DISPUTE_CREATED")) == [created]


def test_filters_by_hong_kong_day(client, login_as, stored):
    login_as("viewer")
    # 2026-01-05 23:30 HKT is 15:30 UTC the same day; 2026-01-06 00:30 HKT is 16:30 UTC on the 5th.
    late_on_the_fifth = stored(received_at=datetime(2026, 1, 5, 15, 30, tzinfo=UTC))
    early_on_the_sixth = stored(received_at=datetime(2026, 1, 5, 16, 30, tzinfo=UTC))
    on_the_seventh = stored(received_at=datetime(2026, 1, 7, 1, 0, tzinfo=UTC))

    sixth = client.get("/notifications/?day_from=2026-01-06&day_to=2026-01-06")
    assert shown_ids(sixth) == [early_on_the_sixth]
    assert "2026-01-06 00:30:00" in sixth.get_data(as_text=True)
    assert shown_ids(client.get("/notifications/?day_to=2026-01-05")) == [late_on_the_fifth]
    assert shown_ids(client.get("/notifications/?day_from=2026-01-07")) == [on_the_seventh]


def test_an_invalid_filter_is_explained_and_lists_nothing(client, login_as, stored):
    login_as("viewer")
    notification_id = stored()
    response = client.get("/notifications/?outcome=exploded")
    assert notification_id not in shown_ids(response)
    assert 'id="error-outcome"' in response.get_data(as_text=True)
    assert "The filters have a problem, so nothing is listed:" in response.get_data(as_text=True)
    assert notification_id in shown_ids(client.get("/notifications/"))


# --- search ------------------------------------------------------------------------------------


@pytest.fixture
def searchable(stored) -> dict[str, int]:
    return {
        "antom": stored(
            body=antom_payment("202601051940108001001888C0201"),
            reference="202601051940108001001888C0201",
            dedup_key="PAYMENT_RESULT:202601051940108001001888C0201:S",
            verdict="valid",
            outcome="applied",
            object_type="payment",
            object_id="41",
        ),
        "sibling": stored(
            reference="202601051940108001001888C0299",
            dedup_key="PAYMENT_RESULT:202601051940108001001888C0299:S",
            verdict="valid",
            outcome="applied",
        ),
        "worldpay": stored(
            "worldpay",
            "authorized",
            worldpay_event("a1b2c3d4-e5f6-4711-8899-aabbccddeeff", "ord-2026-000123"),
            reference="ord-2026-000123",
            dedup_key="a1b2c3d4-e5f6-4711-8899-aabbccddeeff",
            verdict="valid",
            outcome="applied",
            object_type="payment",
            object_id="42",
        ),
        "agreement": stored(
            kind="AUTHCODE_CREATED",
            reference="state-9f8e7d",
            verdict="valid",
            outcome="applied",
            object_type="agreement",
            object_id="43",
        ),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("202601051940108001001888C0201", {"antom"}),  # paymentId, exactly
        ("202601051940108001001888C02", {"antom", "sibling"}),  # paymentId, its beginning
        ("PAYMENT_RESULT:202601051940108001001888C0201:S", {"antom"}),  # the Antom dedup key
        ("a1b2c3d4-e5f6-4711-8899-aabbccddeeff", {"worldpay"}),  # Worldpay eventId
        ("ord-2026-000123", {"worldpay"}),  # transactionReference
        (" ord-2026 ", {"worldpay"}),  # trimmed, prefix
        ("42", {"worldpay"}),  # a payment's id
        ("43", {"agreement"}),  # an agreement's id
        ("state-9f8e7d", {"agreement"}),  # authState
        ("1940108001", set()),  # the middle of an id: never %q%
        ("PAYMENT_RESULT", set()),  # a dedup key matches whole only
        ("000123", set()),  # nor the end of one
    ],
)
def test_search_finds_by_any_id_exactly_or_by_its_beginning(client, login_as, searchable, q, expected):
    login_as("viewer")
    response = client.get("/notifications/", query_string={"q": q})
    assert set(shown_ids(response)) == {searchable[name] for name in expected}


def test_search_finds_a_notification_by_its_own_id(client, login_as, searchable):
    login_as("viewer")
    wanted = searchable["sibling"]
    assert wanted in shown_ids(client.get(f"/notifications/?q=%23{wanted}"))
    assert wanted in shown_ids(client.get(f"/notifications/?q={wanted}"))


def test_search_combines_with_the_filters(client, login_as, searchable):
    login_as("viewer")
    assert shown_ids(client.get("/notifications/?q=202601051940108001001888C02&provider=worldpay")) == []


def test_a_prefix_of_too_many_references_lists_exact_matches_and_says_so(
    client, login_as, stored, monkeypatch
):
    monkeypatch.setattr(listing, "SEARCH_CAP", 2)
    login_as("viewer")
    exact = stored(reference="2026", verdict="valid", outcome="applied")
    for suffix in range(3):
        stored(reference=f"2026-{suffix}", verdict="valid", outcome="applied")

    response = client.get("/notifications/?q=2026")

    assert shown_ids(response) == [exact]
    assert 'id="search-too-broad"' in response.get_data(as_text=True)
    assert 'id="search-too-broad"' not in client.get("/notifications/?q=2026-1").get_data(as_text=True)


# --- detail ------------------------------------------------------------------------------------


def test_detail_shows_the_facts_headers_and_pretty_body(client, login_as, stored):
    login_as("viewer")
    signature = "algorithm=RSA256,keyVersion=1,signature=" + "Q2hlY2tTaWduYXR1cmVWYWx1ZQ" * 8 + "%3D%3D"
    notification_id = stored(
        body=antom_payment("2026B7"),
        headers={"Content-Type": "application/json", "Client-Id": "SANDBOX_5Y3A", "Signature": signature},
        reference="2026B7",
        dedup_key="PAYMENT_RESULT:2026B7:S",
        verdict="valid",
        outcome="applied",
        object_type="payment",
        object_id="8",
        processed_at=NOON_HKT + timedelta(seconds=1),
        attempts=1,
        received_at=NOON_HKT,
    )

    page = client.get(f"/notifications/{notification_id}").get_data(as_text=True)

    assert f"Notification #{notification_id}" in page
    assert "<dt>Received</dt><dd>2026-01-05 12:00:00 HKT</dd>" in page
    assert "<dt>Processed</dt><dd>2026-01-05 12:00:01 HKT</dd>" in page
    assert "PAYMENT_RESULT:2026B7:S" in page
    assert '<a href="/payments/8">payment 8</a>' in page
    assert "SANDBOX_5Y3A" in page
    assert signature not in page
    assert "algorithm=RSA256,keyVersion=1,signature=Q2hlY2tT…D%3D" in page
    assert "  &#34;paymentId&#34;: &#34;2026B7&#34;," in page  # pretty-printed, two-space indent
    assert 'id="actions"' not in page  # a viewer only reads


def test_detail_masks_tokens_and_auth_codes_in_the_body(client, login_as, stored):
    login_as("admin")
    notification_id = stored(
        kind="TOKEN_CANCELED",
        body={
            "authorizationNotifyType": "TOKEN_CANCELED",
            "accessToken": TOKEN,
            "authCode": "code-93cd71ab55",
        },
        verdict="valid",
        outcome="applied",
    )
    page = client.get(f"/notifications/{notification_id}").get_data(as_text=True)
    assert TOKEN not in page and "code-93cd71ab55" not in page
    assert "********2e1b" in page and "********ab55" in page


def test_detail_shows_a_body_that_is_not_json_as_text_with_secrets_masked(client, login_as, stored):
    login_as("admin")
    raw = ('{"notifyType": "PAYMENT_RESULT", "accessToken": "' + TOKEN + '", <cut off').encode()
    notification_id = stored(kind="unparseable", body=raw, verdict="valid", outcome="failed")
    page = client.get(f"/notifications/{notification_id}").get_data(as_text=True)
    assert TOKEN not in page
    assert "&lt;cut off" in page and "********2e1b" in page


def test_detail_shows_what_the_notification_changed(app, client, login_as, stored):
    login_as("viewer")
    notification_id = stored(verdict="valid", outcome="applied", object_type="payment", object_id="9")
    other = stored(verdict="valid", outcome="applied", object_type="payment", object_id="9")
    with app.app_context():
        db.session.add_all(
            [
                Event(
                    object_type="payment",
                    object_id="9",
                    kind="status_changed",
                    summary={"status": ["processing", "succeeded"]},
                    notification_id=notification_id,
                ),
                Event(object_type="payment", object_id="9", kind="refunded_elsewhere", notification_id=other),
            ]
        )
        db.session.commit()

    page = client.get(f"/notifications/{notification_id}").get_data(as_text=True)
    changes = page[page.index('id="changes"') : page.index('id="body"')]

    assert "status_changed" in changes and "processing → succeeded" in changes
    assert '<a href="/payments/9">payment 9</a>' in changes
    assert "refunded_elsewhere" not in changes
    assert "It changed nothing." in client.get(f"/notifications/{stored()}").get_data(as_text=True)


def test_detail_links_a_duplicate_and_its_original_both_ways(client, login_as, stored):
    login_as("viewer")
    original = stored(verdict="valid", outcome="applied")
    first = stored(verdict="valid", outcome="duplicate", duplicate_of_id=original)
    second = stored(verdict="valid", outcome="duplicate", duplicate_of_id=original)

    original_page = client.get(f"/notifications/{original}").get_data(as_text=True)
    duplicates = re.search(r'<dd id="duplicates">(.*?)</dd>', original_page, re.S).group(1)
    assert re.findall(r'href="/notifications/(\d+)"', duplicates) == [str(first), str(second)]
    duplicate_page = client.get(f"/notifications/{first}").get_data(as_text=True)
    assert f'>duplicate</span> of <a href="/notifications/{original}">#{original}</a>' in duplicate_page


def test_detail_lists_the_first_duplicates_and_counts_the_rest(client, login_as, stored):
    login_as("viewer")
    original = stored(verdict="valid", outcome="applied")
    copies = [
        stored(verdict="valid", outcome="duplicate", duplicate_of_id=original)
        for _ in range(DUPLICATES_SHOWN + 3)
    ]

    page = client.get(f"/notifications/{original}").get_data(as_text=True)
    duplicates = re.search(r'<dd id="duplicates">(.*?)</dd>', page, re.S).group(1)
    listed = re.findall(r'href="/notifications/(\d+)"', duplicates)
    assert listed == [str(copy) for copy in copies[:DUPLICATES_SHOWN]]
    assert duplicates.endswith(", and 3 more")


def test_detail_of_an_unknown_notification_is_404(client, login_as):
    login_as("viewer")
    assert client.get("/notifications/424242").status_code == 404


# --- actions -----------------------------------------------------------------------------------


@pytest.fixture
def failed_worldpay(stored) -> int:
    """A verified Worldpay event whose apply failed: Reprocess is what staff would do."""
    return stored(
        "worldpay",
        "authorized",
        worldpay_event("evt-reprocess", "ord-unknown"),
        reference="ord-unknown",
        dedup_key="evt-reprocess",
        verdict="valid",
        outcome="failed",
        processing_error="OperationalError: database is locked",
        attempts=2,
    )


def reload(app, notification_id: int) -> Notification:
    with app.app_context():
        return db.session.get(Notification, notification_id)


def test_admin_sees_a_reprocess_that_asks_for_confirmation_first(client, login_as, failed_worldpay):
    login_as("admin")
    page = client.get(f"/notifications/{failed_worldpay}").get_data(as_text=True)
    confirm = re.search(r'<details class="confirm" id="reprocess">(.*?)</details>', page, re.S).group(1)
    assert "<summary>Reprocess…</summary>" in confirm
    assert f'action="/notifications/{failed_worldpay}/reprocess"' in confirm
    assert f"Yes, reprocess #{failed_worldpay}" in confirm


def test_reprocess_requeues_audits_and_then_applies(
    app, client, login_as, post, failed_worldpay, audit_rows, run_jobs
):
    admin = login_as("admin")

    response = post(f"/notifications/{failed_worldpay}/reprocess", follow_redirects=True)

    page = response.get_data(as_text=True)
    assert f"Notification {failed_worldpay} is queued to be applied again." in page
    row = reload(app, failed_worldpay)
    assert (row.outcome, row.processing_error, row.processed_at) == ("pending", None, None)
    [entry] = audit_rows("notification.reprocessed")
    assert (entry.object_id, entry.actor_id) == (str(failed_worldpay), admin.id)
    assert entry.before == {"outcome": "failed", "processing_error": "OperationalError: database is locked"}
    assert app.extensions["huey"].pending_count() == 1

    assert run_jobs() == 1
    row = reload(app, failed_worldpay)
    assert (row.outcome, row.attempts) == ("unmatched", 3)  # no payment has that transactionReference


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"verdict": "invalid", "outcome": "rejected"}, "a notification whose signature did not verify"),
        ({"verdict": "missing", "outcome": "rejected"}, "a notification whose signature did not verify"),
    ],
)
def test_reprocess_refuses_an_unverified_notification(
    app, client, login_as, post, stored, audit_rows, run_jobs, fields, reason
):
    login_as("admin")
    notification_id = stored(**fields)
    page = client.get(f"/notifications/{notification_id}").get_data(as_text=True)
    assert 'id="reprocess-unavailable"' in page and 'id="reprocess"' not in page

    response = post(f"/notifications/{notification_id}/reprocess", follow_redirects=True)

    assert f"Notification {notification_id} cannot be reprocessed: {reason}" in response.get_data(
        as_text=True
    )
    assert reload(app, notification_id).outcome == "rejected"
    assert audit_rows("notification.reprocessed") == []
    assert app.extensions["huey"].pending_count() == 0


def test_reprocess_refuses_a_duplicate_and_names_its_original(
    app, client, login_as, post, stored, audit_rows
):
    login_as("admin")
    original = stored(verdict="valid", outcome="applied")
    duplicate = stored(verdict="valid", outcome="duplicate", duplicate_of_id=original)

    response = post(f"/notifications/{duplicate}/reprocess", follow_redirects=True)

    page = response.get_data(as_text=True)
    assert f"cannot be reprocessed: a duplicate of notification {original}; reprocess that one." in page
    assert reload(app, duplicate).outcome == "duplicate"
    assert audit_rows("notification.reprocessed") == []


@pytest.mark.parametrize("role", ["viewer", "support", "finance", "manager"])
def test_only_admins_may_reprocess(app, client, login_as, post, failed_worldpay, audit_rows, role):
    user = login_as(role)
    assert 'id="reprocess"' not in client.get(f"/notifications/{failed_worldpay}").get_data(as_text=True)

    response = post(f"/notifications/{failed_worldpay}/reprocess")

    assert response.status_code == 403
    assert reload(app, failed_worldpay).outcome == "failed"
    assert [(row.object_id, row.actor_id) for row in audit_rows("access.denied")] == [
        ("notifications.reprocess", user.id)
    ]


@pytest.mark.parametrize(
    ("role", "allowed"), [("viewer", False), ("finance", False), ("support", True), ("admin", True)]
)
def test_support_and_admins_may_ask_the_provider_but_auditors_and_finance_may_not(
    client, login_as, post, stored, role, allowed
):
    login_as(role)
    linked = stored(verdict="valid", outcome="applied", object_type="payment", object_id="424242")
    page = client.get(f"/notifications/{linked}").get_data(as_text=True)
    assert ('id="ask-provider"' in page) is allowed
    response = post(f"/notifications/{linked}/ask", follow_redirects=True)
    assert response.status_code == (200 if allowed else 403)
    if allowed:  # the payment is gone: the service says so without calling anybody
        assert "Payment 424242: missing." in response.get_data(as_text=True)


def test_ask_is_offered_for_a_linked_object_or_a_reference_only(client, login_as, stored, failed_worldpay):
    login_as("support")
    by_reference = client.get(f"/notifications/{failed_worldpay}").get_data(as_text=True)
    assert 'id="ask-provider"' in by_reference
    assert "what reference <code>ord-unknown</code> names" in by_reference
    nameless = stored(provider="worldpay", kind="unparseable", verdict="valid", outcome="failed")
    page = client.get(f"/notifications/{nameless}").get_data(as_text=True)
    assert 'id="ask-provider"' not in page and 'id="ask-unavailable"' in page


def test_asking_about_a_reference_naming_nothing_says_so_and_is_audited(
    client, login_as, post, failed_worldpay, audit_rows
):
    login_as("support")
    page = post(f"/notifications/{failed_worldpay}/ask", follow_redirects=True).get_data(as_text=True)
    answer = "This notification names nothing the provider can be asked about."
    assert answer in page
    [entry] = audit_rows("notification.provider_asked")
    assert (entry.object_id, entry.after) == (str(failed_worldpay), {"answer": answer})


@pytest.mark.parametrize("action", ["reprocess", "ask"])
def test_actions_need_the_csrf_token(app, client, login_as, failed_worldpay, audit_rows, action):
    login_as("admin")
    response = client.post(f"/notifications/{failed_worldpay}/{action}")
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    assert reload(app, failed_worldpay).outcome == "failed"
    assert audit_rows("notification.reprocessed") == audit_rows("notification.provider_asked") == []


# --- asking the provider for real (the sandboxed app, simulators over HTTP) ---------------------


_CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def support_desk(sandboxed) -> Iterator[Callable[[], requests.Session]]:
    """Return a function that signs a support user in to the served sandboxed app, as a browser would.

    Call it after the set-up: the idle timeout counts on the fake clock that the set-up may move.
    """
    browsers: list[requests.Session] = []

    def open_browser() -> requests.Session:
        user = users.create_user(
            "desk@staff.example", "Desk", "support", TEST_PASSWORD, must_change_password=False
        )
        browser = requests.Session()
        browsers.append(browser)
        token = _CSRF_INPUT.search(browser.get(f"{sandboxed.url}/login", timeout=5).text).group(1)
        form = {"csrf_token": token, "email": user.email, "password": TEST_PASSWORD}
        assert browser.post(f"{sandboxed.url}/login", data=form, timeout=5).url == f"{sandboxed.url}/"
        return browser

    yield open_browser
    for browser in browsers:
        browser.close()


def ask(browser: requests.Session, detail_url: str) -> str:
    """Press Ask the provider on the detail page and return the page it leads to."""
    token = _CSRF_INPUT.search(browser.get(detail_url, timeout=5).text).group(1)
    return browser.post(f"{detail_url}/ask", data={"csrf_token": token}, timeout=30).text


def provider_asked() -> list[AuditLog]:
    db.session.rollback()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == "notification.provider_asked")))


def test_asking_about_a_payment_reports_its_status_from_the_provider(sandboxed, support_desk):
    agreement = authorised(sandboxed)
    payment = payments.charge_agreement(agreement.id, Money(10002, "HKD"), "June plan")
    assert payment.status == "processing"
    sandboxed.settle()  # notifyPayment arrives and is applied
    db.session.rollback()
    notice = db.session.scalars(select(Notification).where(Notification.kind == "PAYMENT_RESULT")).one()
    assert notice.object_id == str(payment.id)

    browser = support_desk()
    detail_url = f"{sandboxed.url}/notifications/{notice.id}"
    detail = browser.get(detail_url, timeout=5).text
    assert f'<a href="/payments/{payment.id}">payment {payment.id}</a>' in detail
    assert "status_changed" in detail and "processing → succeeded" in detail
    page = ask(browser, detail_url)

    assert f"Payment {payment.id}: succeeded." in page
    assert [entry.after for entry in provider_asked()] == [{"answer": f"Payment {payment.id}: succeeded."}]


def test_asking_about_an_agreement_whose_activation_was_lost_activates_it(sandboxed, support_desk):
    agreement = agreements.start_consult("ALIPAY_HK", "cust-ask")
    assert helpers.answer_consent(agreement.auth_url).status_code == 303
    sandboxed.deliver()  # AUTHCODE_CREATED reaches the webhook and is stored
    db.session.rollback()
    notice = db.session.scalars(select(Notification).where(Notification.kind == "AUTHCODE_CREATED")).one()
    service.apply(notice.id)
    sandboxed.app.extensions["huey"].flush()  # the applyToken job is lost (a worker died)
    db.session.rollback()
    assert db.session.get(Agreement, agreement.id).status == "pending"

    browser = support_desk()
    detail_url = f"{sandboxed.url}/notifications/{notice.id}"
    detail = browser.get(detail_url, timeout=5).text
    body = json.loads(db.session.get(Notification, notice.id).body)
    assert body["authCode"] not in detail  # the real auth code stays hidden
    page = ask(browser, detail_url)

    assert f"Agreement {agreement.id}: active." in page
    db.session.rollback()
    assert db.session.get(Agreement, agreement.id).status == "active"
    assert [entry.object_id for entry in provider_asked()] == [str(notice.id)]


def test_an_applied_notification_offers_no_reprocess(client, login_as, stored):
    login_as("admin")
    notification_id = stored(verdict="valid", outcome="applied")

    page = client.get(f"/notifications/{notification_id}").get_data(as_text=True)

    assert 'id="reprocess"' not in page
    assert "Not available: it was processed already" in page


def test_the_signature_failures_view_says_how_many_came_and_how_many_bodies_were_kept(
    client, login_as, stored
):
    now = clock.now()
    stored(verdict="invalid", outcome="rejected", received_at=now - timedelta(hours=1))
    dropped = stored(
        verdict="missing",
        outcome="rejected",
        received_at=now - timedelta(hours=2),
        body=b"",
        dropped_body_bytes=4321,
    )
    stored(verdict="invalid", outcome="rejected", received_at=now - timedelta(hours=30))  # a day before
    stored(verdict="valid", outcome="applied", received_at=now)
    login_as("viewer")

    failures = client.get("/notifications/?outcome=rejected").get_data(as_text=True)
    everything = client.get("/notifications/").get_data(as_text=True)
    detail = client.get(f"/notifications/{dropped}").get_data(as_text=True)

    assert "Signature failures in the last 24 hours: 2; bodies kept of them: 1 (at most" in failures
    assert 'id="rejected-counts"' not in everything
    assert "Not kept: the signature failed, and its 4,321 bytes" in detail
    assert '<pre class="raw"' not in detail


def test_the_new_notifications_bar_counts_only_those_the_filters_match(app, client, login_as, stored):
    login_as("viewer")
    stored(outcome="applied")
    page = client.get("/notifications/?outcome=applied").get_data(as_text=True)
    newest = int(re.search(r'data-live-newest="(\d+)"', page).group(1))
    assert f'data-live-count="/notifications/new?outcome=applied&amp;after={newest}"' in page
    for outcome in ("applied", "failed", "failed"):
        stored(outcome=outcome)
    bar = " ".join(
        client.get(f"/notifications/new?outcome=applied&after={newest}").get_data(as_text=True).split()
    )
    assert "1 new notification — show</button>" in bar
    assert "2 more do not match your filters" in bar


def test_inbox_rows_re_render_the_named_notifications_as_they_are_now(app, client, login_as, stored):
    login_as("viewer")
    changed, other = stored(outcome="pending"), stored(outcome="pending")
    with app.app_context():
        db.session.get(Notification, changed).outcome = "failed"
        db.session.commit()
    body = client.get(f"/notifications/rows?id={changed}").get_data(as_text=True)
    assert re.findall(r'<tr id="notification-(\d+)"', body) == [str(changed)]
    assert "failed" in body and f"notification-{other}" not in body
