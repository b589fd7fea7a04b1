"""The payments list and a payment's page: filters, search, keyset pages, live regions, timeline."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from dashboard.events.service import latest_event_id
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.listing import PAGE_SIZE
from dashboard.notifications.models import Notification
from dashboard.payments.models import Payment
from tests.factories import make_agreement
from tests.factories import make_cancel
from tests.factories import make_payment
from tests.factories import make_refund

# 14:30 in Hong Kong.
PAID = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
CALL = {
    "provider": "antom",
    "operation": "pay",
    "method": "POST",
    "path": "/ams/api/v1/payments/pay",
    "started_at": "2026-03-02T06:30:00Z",
    "duration_ms": 412,
    "status": 200,
    "correlation_id": "c0ffee-77",
    "request_body": {"paymentRequestId": "PAY-HK-1", "paymentMethodId": "[redacted]"},
    "response_body": {"result": {"resultStatus": "S"}},
    "error": None,
    "outcome": "S",
}


def shown(response) -> list[str]:
    return re.findall(
        r'<tr id="payment-\d+">.*?<code>([^<]+)</code></a>', response.get_data(as_text=True), re.S
    )


def add_payments(app, *specs: dict) -> list[int]:
    """Commit one payment per spec (model fields) and return their ids."""
    with app.app_context():
        ids = [make_payment(db.session, **spec).id for spec in specs]
        db.session.commit()
    return ids


@pytest.fixture
def paid(app, create_user) -> dict:
    """An Antom payment with an agreement, two refunds, a cancel and a timeline."""
    clerk = create_user("support")
    with app.app_context():
        agreement = make_agreement(db.session, customer_ref="CUST-HK-42", wallet="ALIPAY_HK")
        payment = make_payment(
            db.session,
            request_id="PAY-HK-1",
            provider_payment_id="2026030219000001",
            agreement_id=agreement.id,
            amount_minor=123450,
            refunded_minor=20000,
            status="succeeded",
            result_code="SUCCESS",
            result_message="Success.",
            created_at=PAID,
            paid_at=PAID + timedelta(seconds=3),
        )
        refund = make_refund(
            db.session,
            payment,
            request_id="RF-HK-1",
            provider_refund_id="2026030219REF1",
            amount_minor=20000,
            status="succeeded",
            reason="Damaged item",
            requested_by_id=clerk.id,
        )
        make_refund(db.session, payment, request_id="RF-HK-2", amount_minor=5000, status="awaiting_approval")
        make_cancel(
            db.session, payment, request_id="CX-HK-1", status="failed", result_code="CANCEL_WINDOW_EXCEED"
        )
        notification = Notification(
            provider="antom", kind="PAYMENT_RESULT", headers={}, body=b"{}", verdict="valid"
        )
        db.session.add(notification)
        db.session.flush()
        record_event(db.session, "payment", payment.id, "created", {"status": "pending"})
        record_event(db.session, "payment", payment.id, "provider_call", CALL)
        record_event(
            db.session,
            "payment",
            payment.id,
            "status_changed",
            {"status": ["pending", "succeeded"], "result_code": "SUCCESS", "result_message": "Success."},
            notification_id=notification.id,
        )
        record_event(
            db.session,
            "payment",
            payment.id,
            "refund_requested",
            {"refund_id": refund.id, "amount_minor": 20000, "currency": "HKD"},
            actor_id=clerk.id,
        )
        db.session.commit()
        return {
            "id": payment.id,
            "agreement_id": agreement.id,
            "notification_id": notification.id,
            "clerk": clerk.name,
            "cursor": latest_event_id(db.session),
        }


# --- the list ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "support", "finance", "manager", "admin"])
def test_every_staff_role_sees_payments_newest_first(app, client, login_as, role):
    login_as(role)
    add_payments(
        app,
        {"request_id": "PAY-OLD", "created_at": PAID},
        {"request_id": "PAY-NEW", "created_at": PAID + timedelta(minutes=1), "status": "failed"},
    )
    response = client.get("/payments/")
    assert response.status_code == 200
    assert shown(response) == ["PAY-NEW", "PAY-OLD"]


def test_a_row_shows_hong_kong_time_money_status_in_words_and_refunded(app, client, login_as):
    login_as("viewer")
    add_payments(
        app,
        {
            "request_id": "PAY-ROW",
            "provider": "worldpay",
            "provider_payment_id": "wp-123",
            "amount_minor": 123450,
            "refunded_minor": 2000,
            "status": "charged_back",
            "created_at": PAID,
        },
    )
    page = client.get("/payments/").get_data(as_text=True)
    row = re.search(r'<tr id="payment-\d+">(.*?)</tr>', page, re.S).group(1)
    assert "2026-03-02 14:30:00" in row
    assert "Worldpay" in row and '<code title="wp-123">wp-123</code>' in row
    assert "HK$1,234.50" in row and "HK$20.00" in row
    assert '<span class="badge badge-err">charged back</span>' in row
    assert '<caption class="visually-hidden">Payments, newest first' in page
    assert page.count('<th scope="col"') == 7


def test_filters_and_search_narrow_the_list(app, client, login_as):
    login_as("viewer")
    add_payments(
        app,
        {"request_id": "PAY-A-1", "provider": "antom", "status": "failed"},
        {"request_id": "PAY-A-2", "provider": "antom", "status": "succeeded"},
        {"request_id": "PAY-W-1", "provider": "worldpay", "status": "failed"},
    )
    assert shown(client.get("/payments/?provider=antom&status=failed")) == ["PAY-A-1"]
    assert shown(client.get("/payments/?q=PAY-A-")) == ["PAY-A-2", "PAY-A-1"]
    assert shown(client.get("/payments/?q=+PAY-W-1+")) == ["PAY-W-1"]  # pasted with blanks
    assert "No payments match these filters." in client.get("/payments/?q=A-1").get_data(as_text=True)


def test_search_by_a_refund_id_shows_its_payment(app, client, login_as, paid):
    login_as("viewer")
    assert shown(client.get("/payments/?q=RF-HK-1")) == ["PAY-HK-1"]
    assert shown(client.get("/payments/?q=2026030219REF")) == ["PAY-HK-1"]
    assert shown(client.get("/payments/?q=CUST-HK-42")) == ["PAY-HK-1"]


def test_an_unknown_filter_value_is_pointed_out_and_lists_nothing(app, client, login_as):
    login_as("viewer")
    add_payments(app, {"request_id": "PAY-ANY"})
    page = client.get("/payments/?status=paid").get_data(as_text=True)
    assert "Not a valid choice." in page
    assert "PAY-ANY" not in page


def test_wallet_currency_amount_days_and_refunds_narrow_the_list_from_the_url(app, client, login_as):
    login_as("viewer")
    fits = {"payment_method": "GCASH", "amount_minor": 123450, "refunded_minor": 100, "created_at": PAID}
    add_payments(
        app,
        {**fits, "request_id": "PAY-FIT"},
        {**fits, "request_id": "PAY-NO-REFUND", "refunded_minor": 0},
        {**fits, "request_id": "PAY-JPY", "currency": "JPY", "amount_minor": 1234, "refunded_minor": 0},
        {**fits, "request_id": "PAY-CHEAP", "amount_minor": 100},
        {**fits, "request_id": "PAY-AHK", "payment_method": "ALIPAY_HK"},
        {**fits, "request_id": "PAY-YESTERDAY", "created_at": PAID - timedelta(days=1)},
    )
    url = (
        "/payments/?method=gcash&currency=HKD&amount_min=1,000&amount_max=1234.50"
        "&day_from=2026-03-02&day_to=2026-03-02&has_refunds=y"
    )
    assert shown(client.get(url)) == ["PAY-FIT"]
    assert shown(client.get(url.replace("day_from=2026-03-02&day_to=2026-03-02", "day_to=2026-03-01"))) == [
        "PAY-YESTERDAY"
    ]
    assert shown(client.get("/payments/?currency=JPY")) == ["PAY-JPY"]
    assert shown(client.get("/payments/?method=ALIPAY_HK")) == ["PAY-AHK"]
    assert set(shown(client.get("/payments/?currency=HKD&amount_min=1234.5&amount_max=1234.5"))) == {
        "PAY-FIT",
        "PAY-NO-REFUND",
        "PAY-AHK",
        "PAY-YESTERDAY",
    }


def test_the_search_still_finds_any_id_within_the_new_filters(app, client, login_as, paid):
    login_as("viewer")
    assert shown(client.get("/payments/?q=RF-HK-1&currency=HKD&has_refunds=y")) == ["PAY-HK-1"]
    assert shown(client.get("/payments/?q=CUST-HK-42&status=succeeded&day_from=2026-03-02")) == ["PAY-HK-1"]
    assert shown(client.get("/payments/?q=CUST-HK-42&currency=JPY")) == []


def test_the_pager_the_live_bar_and_the_export_link_keep_every_filter(app, client, login_as):
    login_as("viewer")
    add_payments(
        app,
        *(
            {
                "request_id": f"PAY-L-{n:03d}",
                "payment_method": "GCASH",
                "created_at": PAID + timedelta(seconds=n),
            }
            for n in range(PAGE_SIZE + 1)
        ),
    )
    page = client.get("/payments/?method=GCASH&currency=HKD&amount_min=10&day_from=2026-03-02").get_data(
        as_text=True
    )
    kept = "method=GCASH&amp;currency=HKD&amp;amount_min=10&amp;day_from=2026-03-02"
    older = re.search(r'<a href="([^"]+)"\s+hx-get="[^"]+"[^>]*>Older payments', page).group(1)
    assert older.startswith("/payments/?before=") and older.endswith(kept)
    assert f'hx-get="/payments/?{kept}"' in page  # the live bar's fresh first page
    export = re.search(r'<a id="export-csv" href="([^"]+)" download>Export CSV</a>', page).group(1)
    assert export == f"/payments/export.csv?{kept}"


def test_a_filter_with_too_many_decimals_is_explained_beside_it_and_lists_nothing(app, client, login_as):
    login_as("viewer")
    add_payments(
        app, {"request_id": "PAY-ANY", "amount_minor": 500}, {"request_id": "PAY-JPY", "currency": "JPY"}
    )
    page = client.get("/payments/?currency=HKD&amount_min=12.345&status=failed").get_data(as_text=True)
    field = re.search(r'<div id="field-amount_min" class="field has-error">.*?</div>', page, re.S).group(0)
    assert '<p class="error" id="error-amount_min">HKD amounts have at most 2 decimals.</p>' in field
    assert 'value="12.345"' in field and 'aria-invalid="true"' in field
    summary = re.search(r'<div id="payment-filters-errors" class="error-summary".*?</div>', page, re.S).group(
        0
    )
    assert "The filters have a problem, so nothing is listed:" in summary
    assert '<a href="#amount_min">Amount from: HKD amounts have at most 2 decimals.</a>' in summary
    assert shown(client.get("/payments/?currency=HKD&amount_min=12.345&status=failed")) == []
    assert 'id="export-csv"' not in page  # nothing to export until the filters are right


def test_htmx_brings_a_new_message_beside_its_field_and_takes_it_away_once_fixed(app, client, login_as):
    login_as("viewer")
    add_payments(app, {"request_id": "PAY-HX", "amount_minor": 1250})
    bad = "/payments/?currency=JPY&amount_min=12.5"
    before = {"HX-Request": "true", "HX-Current-URL": "http://localhost/payments/?currency=JPY"}
    answer = client.get(bad, headers=before).get_data(as_text=True)
    results, _, fields = answer.partition("</section>")
    assert results.lstrip().startswith('<section id="results"') and "payment-filters-errors" in results
    assert re.findall(r'<div id="field-(\w+)"', fields) == ["amount_min"]
    assert "JPY amounts have no decimals." in fields

    again = {"HX-Request": "true", "HX-Current-URL": f"http://localhost{bad}"}
    unchanged = client.get(bad + "&status=failed", headers=again).get_data(as_text=True)
    assert 'id="field-' not in unchanged  # the message stands; the fields are left alone

    fixed = client.get("/payments/?currency=JPY&amount_min=12", headers=again).get_data(as_text=True)
    _, _, fields = fixed.partition("</section>")
    assert re.findall(r'<div id="field-(\w+)"', fields) == ["amount_min"]
    assert "has-error" not in fields and "error-amount_min" not in fields
    assert "payment-filters-errors" not in fixed and 'id="export-csv"' in fixed


def test_the_filters_say_which_fields_an_htmx_answer_may_bring(client, login_as):
    login_as("viewer")
    page = client.get("/payments/").get_data(as_text=True)
    oob = re.search(r'<div hx-select-oob="([^"]+)">\s*<form id="payment-filters"', page).group(1)
    assert oob.split(",") == [
        f"#field-{name}"
        for name in (
            "q",
            "provider",
            "status",
            "code",
            "method",
            "currency",
            "amount_min",
            "amount_max",
            "day_from",
            "day_to",
            "has_refunds",
        )
    ]
    assert 'id="day_from" name="day_from" type="date"' in page
    assert "Days in HKT, both included." in page


def test_older_payments_page_by_keyset_and_link_back_to_the_newest(app, client, login_as):
    login_as("viewer")
    add_payments(
        app,
        *(
            {"request_id": f"PAY-K-{n:03d}", "created_at": PAID + timedelta(seconds=n)}
            for n in range(PAGE_SIZE + 3)
        ),
    )
    first = client.get("/payments/?provider=antom")
    assert len(shown(first)) == PAGE_SIZE
    link = re.search(r'<a href="([^"]+)"\s+hx-get="[^"]+"[^>]*>Older payments', first.get_data(as_text=True))
    url = link.group(1).replace("&amp;", "&")
    assert "provider=antom" in url and "before=" in url and "offset" not in url
    second = client.get(url)
    assert shown(second) == ["PAY-K-002", "PAY-K-001", "PAY-K-000"]
    page = second.get_data(as_text=True)
    assert "Older payments" not in page
    assert re.search(r'<a href="/payments/\?provider=antom"[^>]*>← Newest</a>', page)
    assert "← Newest" not in first.get_data(as_text=True)


def test_a_malformed_page_cursor_starts_at_the_top(app, client, login_as):
    login_as("viewer")
    add_payments(app, {"request_id": "PAY-TOP"})
    assert shown(client.get("/payments/?before=not-a-cursor")) == ["PAY-TOP"]


def test_htmx_gets_only_the_results_block(app, client, login_as):
    login_as("viewer")
    add_payments(app, {"request_id": "PAY-FRAG"})
    response = client.get("/payments/?q=PAY-FRAG", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="results"')
    assert "PAY-FRAG" in body
    assert "<html" not in body and 'id="payment-filters"' not in body
    assert "HX-Request" in response.headers["Vary"]


def test_the_list_is_a_live_region_with_a_new_payments_bar(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        record_event(db.session, "payment", 1, "created", {"status": "pending"})
        db.session.commit()
        cursor = latest_event_id(db.session)
    page = client.get("/payments/?status=pending").get_data(as_text=True)
    region = re.search(r'<section id="results"([^>]*)>', page).group(1)
    assert 'data-live-topic="payment"' in region and f'data-live-cursor="{cursor}"' in region
    assert f'data-live-count="/payments/new?status=pending&amp;after={cursor}"' in region
    assert 'data-live-rows="/payments/rows"' in region
    bar = re.search(r'<div id="live-bar" class="live-bar" hidden>\s*<button type="button"([^>]*)>', page)
    assert bar, "the bar waits hidden, a real button, until the server counts new payments"
    assert "hidden" in bar.group(1)
    assert 'hx-get="/payments/?status=pending"' in bar.group(1) and 'hx-target="#results"' in bar.group(1)


def _created(app, *statuses: str) -> list[int]:
    """Commit payments of these statuses, each with its "created" event, and return their ids."""
    with app.app_context():
        ids = []
        for status in statuses:
            payment = make_payment(db.session, status=status)
            record_event(db.session, "payment", payment.id, "created", {"status": status})
            ids.append(payment.id)
        db.session.commit()
    return ids


def _cursor(app) -> int:
    with app.app_context():
        return latest_event_id(db.session)


def _bar(client, query: str) -> str:
    response = client.get(f"/payments/new?{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return " ".join(response.get_data(as_text=True).split())


def test_the_bar_counts_only_new_payments_the_filters_match_and_says_how_many_do_not(app, client, login_as):
    login_as("viewer")
    _created(app, "pending")  # before the page: not new
    cursor = _cursor(app)
    _created(app, "succeeded", "pending", "succeeded", "failed", "succeeded")
    bar = _bar(client, f"status=succeeded&after={cursor}")
    assert '<div id="live-bar" class="live-bar">' in bar
    assert "3 new payments — show</button>" in bar
    assert 'hx-get="/payments/?status=succeeded"' in bar  # "show" keeps the filters, not the cursor
    assert "2 more do not match your filters" in bar


def test_the_bar_for_new_payments_none_of_which_match_offers_nothing_to_show(app, client, login_as):
    login_as("viewer")
    cursor = _cursor(app)
    _created(app, "failed")
    bar = _bar(client, f"status=succeeded&provider=antom&after={cursor}")
    assert re.search(r"<button [^>]*hidden[^>]*>\s*</button>", bar)
    assert "1 new payment does not match your filters" in bar


def test_the_bar_without_filters_counts_every_new_payment_once(app, client, login_as):
    login_as("viewer")
    cursor = _cursor(app)
    (first,) = _created(app, "pending")
    with app.app_context():
        record_event(db.session, "payment", first, "status_changed", {"status": ["pending", "succeeded"]})
        db.session.commit()
    _created(app, "pending")
    bar = _bar(client, f"after={cursor}")
    assert "2 new payments — show" in bar and "not match" not in bar
    assert '<div id="live-bar" class="live-bar" hidden>' in _bar(client, f"after={_cursor(app)}")


def test_invalid_filters_count_every_new_payment_as_not_matching(app, client, login_as):
    login_as("viewer")
    cursor = _cursor(app)
    _created(app, "pending")
    bar = _bar(client, f"amount_min=abc&after={cursor}")
    assert "1 new payment does not match your filters" in bar and "— show" not in bar


def test_rows_re_render_the_named_payments_as_they_are_now(app, client, login_as):
    login_as("viewer")
    changed, other = _created(app, "processing", "processing")
    with app.app_context():
        db.session.get(Payment, changed).status = "succeeded"
        db.session.commit()
    response = client.get(f"/payments/rows?id={changed}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert re.findall(r'<tr id="payment-(\d+)"', body) == [str(changed)]
    assert "succeeded" in body and "processing" not in body
    assert f"payment-{other}" not in body


# --- one payment ------------------------------------------------------------------------------


def test_a_payment_page_shows_status_amounts_ids_and_result(client, login_as, paid):
    login_as("viewer")
    page = client.get(f"/payments/{paid['id']}").get_data(as_text=True)
    assert '<span class="badge badge-ok" id="payment-status">succeeded</span>' in page
    assert '<dd id="payment-amount">HK$1,234.50</dd>' in page
    assert '<dd id="payment-refunded">HK$200.00</dd>' in page
    assert '<dd id="payment-refundable">HK$984.50</dd>' in page  # 1,234.50 − 200 refunded − 50 awaiting
    assert "<code>2026030219000001</code>" in page
    assert f'href="/agreements/{paid["agreement_id"]}">CUST-HK-42</a>' in page
    assert "<code>SUCCESS</code>" in page and "Success." in page
    assert "2026-03-02 14:30:03" in page  # paid, in Hong Kong time


def test_a_payment_page_lists_refunds_and_cancels(client, login_as, paid):
    login_as("viewer")
    page = client.get(f"/payments/{paid['id']}").get_data(as_text=True)
    refunds = re.search(r'<table class="table" id="refunds">(.*?)</table>', page, re.S).group(1)
    assert "<code>RF-HK-1</code>" in refunds and "<code>2026030219REF1</code>" in refunds
    assert "Damaged item" in refunds and paid["clerk"] in refunds
    assert "awaiting approval" in refunds
    cancels = re.search(r'<table class="table" id="cancels">(.*?)</table>', page, re.S).group(1)
    assert "<code>CX-HK-1</code>" in cancels and "CANCEL_WINDOW_EXCEED" in cancels


def test_the_timeline_reads_well_and_links_the_notification_and_the_actor(client, login_as, paid):
    login_as("viewer")
    page = client.get(f"/payments/{paid['id']}").get_data(as_text=True)
    timeline = re.search(r'<table class="table timeline" id="timeline">(.*?)</table>', page, re.S).group(1)
    titles = re.findall(r'<th scope="row">([^<]+)</th>', timeline)
    assert titles == ["Created", "Provider call", "Status changed", "Refund requested"]
    assert "antom pay · HTTP 200 · 412 ms · succeeded (S)" in timeline
    assert re.search(r'<details id="event-\d+-call" class="call">', timeline)
    assert "POST /ams/api/v1/payments/pay" in timeline and "c0ffee-77" in timeline
    assert "&#34;paymentMethodId&#34;: &#34;[redacted]&#34;" in timeline
    assert "pending → succeeded · SUCCESS: Success." in timeline
    assert (
        f'href="/notifications/{paid["notification_id"]}">Notification #{paid["notification_id"]}</a>'
        in timeline
    )
    assert paid["clerk"] in timeline


def test_a_worldpay_payment_shows_its_last_seen_actions_and_no_cancels(app, client, login_as):
    login_as("viewer")
    (payment_id,) = add_payments(
        app, {"provider": "worldpay", "actions": {"refund": {"href": "x"}, "partialRefund": {"href": "y"}}}
    )
    page = client.get(f"/payments/{payment_id}").get_data(as_text=True)
    assert '<dd id="payment-actions"><code>partialRefund</code>, <code>refund</code></dd>' in page
    assert "Worldpay has no cancel" in page
    assert 'id="cancels"' not in page and "No cancels." not in page


def test_the_payment_page_is_one_live_region_that_refreshes_itself(client, login_as, paid):
    login_as("viewer")
    page = client.get(f"/payments/{paid['id']}").get_data(as_text=True)
    region = re.search(r'<div id="payment-detail"([^>]*)>', page).group(1)
    assert f'data-live-topic="payment:{paid["id"]}"' in region
    assert f'data-live-cursor="{paid["cursor"]}"' in region
    assert f'hx-get="/payments/{paid["id"]}"' in region and 'hx-trigger="live"' in region
    assert 'hx-target="this"' in region and 'hx-swap="outerHTML"' in region
    assert """hx-headers='{"X-Live-Refresh": "true"}'""" in region


def test_htmx_gets_only_the_payment_block(client, login_as, paid):
    login_as("viewer")
    response = client.get(f"/payments/{paid['id']}", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="payment-detail"')
    assert "<html" not in body and "crumbs" not in body
    assert 'id="payment-status"' in body and 'id="timeline"' in body


def test_an_unknown_payment_is_not_found(client, login_as):
    login_as("viewer")
    assert client.get("/payments/987654").status_code == 404


def test_a_refund_address_opens_its_row_on_its_payments_page(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        payment = make_payment(db.session)
        refund = make_refund(db.session, payment)
        db.session.commit()
        payment_id, refund_id = payment.id, refund.id
    response = client.get(f"/payments/refunds/{refund_id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/payments/{payment_id}#refund-{refund_id}"
    assert f'<tr id="refund-{refund_id}">' in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get(f"/payments/refunds/{refund_id + 1}").status_code == 404
