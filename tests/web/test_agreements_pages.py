"""The agreements list and an agreement's page: search, masked token, revoke, payments, timeline."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import text

from dashboard.crypto import encrypt
from dashboard.events.service import latest_event_id
from dashboard.events.service import record_event
from dashboard.extensions import db
from dashboard.listing import PAGE_SIZE
from tests.factories import make_agreement
from tests.factories import make_payment
from tests.web.test_code_guidance_pages import text_of

ACTIVATED = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)  # 14:30 in Hong Kong
TOKEN = "2828010100000000000000SECRETTOKENabcd"


def shown_of(page: str) -> list[str]:
    return re.findall(r'<tr id="agreement-\d+">.*?">([^<]+)</a>', page, re.S)


def shown(response) -> list[str]:
    return shown_of(response.get_data(as_text=True))


def add_agreements(app, *specs: dict) -> list[int]:
    """Commit one agreement per spec (model fields) and return their ids."""
    with app.app_context():
        ids = [make_agreement(db.session, **spec).id for spec in specs]
        db.session.commit()
    return ids


@pytest.fixture
def revoked(app, create_user) -> dict:
    """A revoked agreement that had a token, with payments and a timeline."""
    clerk = create_user("support")
    with app.app_context():
        agreement = make_agreement(
            db.session,
            customer_ref="CUST-HK-9",
            wallet="ALIPAY_HK",
            auth_state="st-9f2a",
            status="revoked",
            activated_at=ACTIVATED,
            revoke_requested_at=ACTIVATED + timedelta(days=1),
            revoked_at=ACTIVATED + timedelta(days=1, minutes=1),
            revoked_by_id=clerk.id,
            revoke_reason="Customer asked by phone",
        )
        agreement.set_access_token(TOKEN, ACTIVATED + timedelta(days=365))
        agreement.refresh_token_expires_at = ACTIVATED + timedelta(days=730)
        payments = [
            make_payment(
                db.session,
                request_id=f"PAY-AG-{n}",
                agreement_id=agreement.id,
                created_at=ACTIVATED + timedelta(days=n),
            )
            for n in range(3)
        ]
        record_event(
            db.session, "agreement", agreement.id, "status_changed", {"status": ["pending", "active"]}
        )
        record_event(
            db.session, "agreement", agreement.id, "revoke_requested", {"reason": "asked"}, actor_id=clerk.id
        )
        db.session.commit()
        return {
            "id": agreement.id,
            "payments": [p.id for p in payments],
            "clerk": clerk.name,
            "cursor": latest_event_id(db.session),
        }


@pytest.mark.parametrize("role", ["viewer", "support", "finance", "manager", "admin"])
def test_every_staff_role_sees_agreements_newest_first(app, client, login_as, role):
    login_as(role)
    add_agreements(
        app,
        {"customer_ref": "CUST-OLD", "created_at": ACTIVATED},
        {"customer_ref": "CUST-NEW", "created_at": ACTIVATED + timedelta(minutes=1)},
    )
    response = client.get("/agreements/")
    assert response.status_code == 200
    assert shown(response) == ["CUST-NEW", "CUST-OLD"]


def test_the_list_shows_the_token_masked_never_whole(client, login_as, revoked):
    login_as("viewer")
    page = client.get("/agreements/").get_data(as_text=True)
    row = re.search(r'<tr id="agreement-\d+">(.*?)</tr>', page, re.S).group(1)
    assert '<span aria-hidden="true">••••</span><span class="visually-hidden">ending </span>abcd' in row
    assert '<span class="badge badge-muted">revoked</span>' in row
    assert "2028-03-01 14:30" in row  # when it runs out (its refresh token's expiry), in Hong Kong time
    assert "SECRETTOKEN" not in page


def test_the_list_shows_tokens_that_no_listed_key_can_decrypt(app, client, login_as, revoked):
    """The list reads only the stored last 4: an agreement whose tokens were encrypted with a key
    since retired from DATA_ENCRYPTION_KEYS still lists (its own page is where decryption matters)."""
    retired = encrypt("old-token-wxyz", ["Yf0mZrG2D2bCV2t0i8oZ8ZEl6yS2oG4nQ1y3mLk9pXs="])
    with app.app_context():
        db.session.execute(
            text("UPDATE agreements SET access_token = :token, auth_code = :token, refresh_token = :token"),
            {"token": retired},
        )
        db.session.commit()
    login_as("viewer")
    response = client.get("/agreements/")
    assert response.status_code == 200
    assert shown(response) == ["CUST-HK-9"]
    assert '<span class="visually-hidden">ending </span>abcd' in response.get_data(as_text=True)


def test_filter_by_status_and_search_by_customer_ref_or_auth_state(app, client, login_as):
    login_as("viewer")
    add_agreements(
        app,
        {"customer_ref": "CUST-A-1", "auth_state": "aa-1", "status": "active"},
        {"customer_ref": "CUST-A-2", "auth_state": "aa-2"},
        {"customer_ref": "VIP-A-3", "auth_state": "aa-3", "status": "active"},
    )
    assert shown(client.get("/agreements/?status=active")) == ["VIP-A-3", "CUST-A-1"]
    assert shown(client.get("/agreements/?q=CUST-A")) == ["CUST-A-2", "CUST-A-1"]
    assert shown(client.get("/agreements/?q=aa-2")) == ["CUST-A-2"]
    assert shown(client.get("/agreements/?q=aa-")) == []
    assert shown(client.get("/agreements/?q=CUST&status=active")) == ["CUST-A-1"]


def test_older_agreements_page_by_keyset(app, client, login_as):
    login_as("viewer")
    add_agreements(app, *({"created_at": ACTIVATED + timedelta(seconds=n)} for n in range(PAGE_SIZE + 1)))
    first = client.get("/agreements/")
    assert len(shown(first)) == PAGE_SIZE
    url = re.search(r'<a href="([^"]+)"[^>]*>Older agreements', first.get_data(as_text=True)).group(1)
    assert len(shown(client.get(url.replace("&amp;", "&")))) == 1


def test_htmx_gets_only_the_results_block_with_its_live_bar(app, client, login_as):
    login_as("viewer")
    add_agreements(app, {"customer_ref": "CUST-FRAG"})
    body = client.get("/agreements/?q=CUST-FRAG", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert body.lstrip().startswith('<section id="results" data-live-topic="agreement"')
    assert 'id="live-bar"' in body and "CUST-FRAG" in body
    assert "<html" not in body


def test_an_agreement_page_shows_wallet_token_expiry_and_our_revoke_apart_from_the_wallet(
    client, login_as, revoked
):
    login_as("viewer")
    page = client.get(f"/agreements/{revoked['id']}").get_data(as_text=True)
    assert '<span class="badge badge-muted" id="agreement-status">revoked</span>' in page
    assert "ALIPAY_HK" in page and "<code>st-9f2a</code>" in page
    token = re.search(r'<dd id="agreement-token">(.*?)</dd>', page, re.S).group(1)
    assert token.endswith("abcd</code>") and "SECRETTOKEN" not in page
    assert "2027-03-02 14:30:00" in page and "2028-03-01 14:30:00" in page  # token and refresh expiry
    assert text_of(page, "revoke-asked") == "2026-03-03 14:30:00"
    assert text_of(page, "revoke-by") == revoked["clerk"]
    assert text_of(page, "revoke-reason") == "Customer asked by phone"
    assert text_of(page, "revoke-result") == "revoked on 2026-03-03 14:31:00: it can no longer be charged"
    assert text_of(page, "agreement-unbinding") == "The customer has not cancelled it in their wallet."
    assert text_of(page, "no-revoke") == "it was revoked"


def test_an_agreement_page_links_its_newest_payments_and_shows_its_timeline(client, login_as, revoked):
    login_as("viewer")
    page = client.get(f"/agreements/{revoked['id']}").get_data(as_text=True)
    links = re.findall(r'<a href="/payments/(\d+)"><code>', page)
    assert [int(link) for link in links] == list(reversed(revoked["payments"]))
    assert 'href="/payments/?q=CUST-HK-9"' in page
    timeline = re.search(r'id="timeline">(.*?)</table>', page, re.S).group(1)
    assert re.findall(r'<th scope="row">([^<]+)</th>', timeline) == ["Status changed", "Revoke requested"]
    assert "pending → active" in timeline and revoked["clerk"] in timeline


def test_the_agreement_page_is_one_live_region(client, login_as, revoked):
    login_as("viewer")
    response = client.get(f"/agreements/{revoked['id']}", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    region = re.match(r'\s*<div id="agreement-detail"([^>]*)>', body).group(1)
    assert f'data-live-topic="agreement:{revoked["id"]}"' in region
    assert f'data-live-cursor="{revoked["cursor"]}"' in region and 'hx-trigger="live"' in region


def test_an_unknown_agreement_is_not_found(client, login_as):
    login_as("viewer")
    assert client.get("/agreements/987654").status_code == 404


# --- filters in the URL ---------------------------------------------------------------------------


@pytest.fixture
def mixed(app, fake_clock) -> None:
    """Agreements of two wallets and several statuses; some run out within a week of the fake now."""
    now = fake_clock.now()
    soon, later = now + timedelta(days=3), now + timedelta(days=40)
    add_agreements(
        app,
        {"customer_ref": "HK-SOON", "status": "active", "access_token_expires_at": soon},
        {"customer_ref": "HK-LATER", "status": "active", "access_token_expires_at": later},
        {"customer_ref": "HK-PENDING"},
        {"customer_ref": "PH-SOON", "wallet": "GCASH", "status": "active", "access_token_expires_at": soon},
        {
            "customer_ref": "PH-REVOKED",
            "wallet": "GCASH",
            "status": "revoked",
            "access_token_expires_at": soon,
        },
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("wallet=GCASH", ["PH-REVOKED", "PH-SOON"]),
        ("status=active", ["HK-LATER", "HK-SOON", "PH-SOON"]),
        ("expiring=7", ["HK-SOON", "PH-SOON"]),
        ("expiring=60", ["HK-LATER", "HK-SOON", "PH-SOON"]),
        ("wallet=ALIPAY_HK&expiring=7", ["HK-SOON"]),
        ("wallet=GCASH&status=active", ["PH-SOON"]),
        ("wallet=GCASH&status=active&expiring=7&q=PH", ["PH-SOON"]),
        ("wallet=KAKAOPAY", []),
    ],
)
def test_each_filter_and_their_combinations_narrow_the_list(client, login_as, mixed, query, expected):
    login_as("viewer")
    response = client.get(f"/agreements/?{query}")
    assert response.status_code == 200
    assert sorted(shown(response)) == expected


def test_expiring_agreements_are_listed_soonest_to_run_out_first_across_pages(
    app, client, login_as, fake_clock
):
    now = fake_clock.now()
    # Created oldest first with the latest expiry, so newest first would list them backwards.
    add_agreements(
        app,
        *(
            {
                "customer_ref": f"RUNS-OUT-{days:02d}",
                "wallet": "GCASH",
                "status": "active",
                "access_token_expires_at": now + timedelta(days=days, hours=1),
            }
            for days in range(PAGE_SIZE + 5, 0, -1)
        ),
    )
    login_as("viewer")
    first = client.get("/agreements/?expiring=90")
    page = first.get_data(as_text=True)
    assert shown(first) == [f"RUNS-OUT-{days:02d}" for days in range(1, PAGE_SIZE + 1)]
    assert "soonest to run out first" in page
    later = re.search(r'<a href="([^"]+)"[^>]*>Later to run out', page).group(1).replace("&amp;", "&")
    assert shown(client.get(later)) == [
        f"RUNS-OUT-{days:02d}" for days in range(PAGE_SIZE + 1, PAGE_SIZE + 6)
    ]


def test_the_url_keeps_the_filters_in_the_form_the_pager_and_the_live_bar(app, client, login_as, fake_clock):
    now = fake_clock.now()
    add_agreements(
        app,
        *(
            {"wallet": "GCASH", "status": "active", "access_token_expires_at": now + timedelta(days=2)}
            for _ in range(PAGE_SIZE + 1)
        ),
    )
    login_as("viewer")
    page = client.get("/agreements/?wallet=GCASH&expiring=14").get_data(as_text=True)
    assert '<option selected value="GCASH">GCash</option>' in page
    assert re.search(r'<input[^>]*id="expiring"[^>]*value="14"', page)
    older = re.search(r'<a href="([^"]+)"[^>]*>Later to run out', page).group(1).replace("&amp;", "&")
    assert "wallet=GCASH" in older and "expiring=14" in older and "before=" in older
    bar = re.search(r'<button type="button" id="live-bar-show"[^>]*hx-get="([^"]+)"', page).group(1)
    assert "wallet=GCASH" in bar.replace("&amp;", "&") and "expiring=14" in bar
    assert len(shown(client.get(older))) == 1
    # The form asks for the list with the URL in the address bar, so the back button restores it.
    form = re.search(r'<form id="agreement-filters"[^>]*>', page).group(0)
    assert 'method="get"' in form and 'hx-push-url="true"' in form


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("wallet=NOPE", "wallet", "Not a valid choice."),
        ("status=paid", "status", "Not a valid choice."),
        ("expiring=0", "expiring", "Enter a number of days from 1 to 366."),
        ("expiring=9999", "expiring", "Enter a number of days from 1 to 366."),
        ("expiring=soon", "expiring", "Not a valid integer value."),
        (
            "expiring=7&status=revoked",
            "expiring",
            "Only active agreements run out: choose any status or active.",
        ),
        ("wallet=GCASH&expiring=-3", "expiring", "Enter a number of days from 1 to 366."),
        ("dated=revoked&status=active", "dated", "Only revoked agreements have these days."),
        (
            "dated=cancelled&expiring=7",
            "dated",
            "Only active agreements run out: list them by the days they were made.",
        ),
        ("day_from=2026-02-05&day_to=2026-02-04", "day_to", "Must not be before “From”."),
        ("day_from=yesterday", "day_from", "Not a valid date value."),
    ],
)
def test_an_invalid_filter_is_explained_and_never_shows_the_unfiltered_list(
    client, login_as, mixed, query, field, message
):
    login_as("viewer")
    page = client.get(f"/agreements/?{query}").get_data(as_text=True)
    assert shown_of(page) == []
    assert "Nothing listed: fix the filters above." in page
    assert text_of(page, f"error-{field}") == message
    summary = text_of(page, "agreement-filters-errors")
    assert summary.startswith("The filters have a problem, so nothing is listed:") and message in summary


def test_htmx_gets_no_rows_for_an_invalid_filter_and_the_field_s_message_beside_it(client, login_as, mixed):
    login_as("viewer")
    headers = {"HX-Request": "true", "HX-Current-URL": "http://localhost/agreements/?wallet=GCASH"}
    body = client.get("/agreements/?wallet=GCASH&expiring=0", headers=headers).get_data(as_text=True)
    assert shown_of(body) == [] and 'id="agreement-filters-errors"' in body
    assert re.findall(r'<div id="field-(\w+)"', body) == ["expiring"]  # only the field whose message changed
    fixed = {**headers, "HX-Current-URL": "http://localhost/agreements/?wallet=GCASH&expiring=0"}
    body = client.get("/agreements/?wallet=GCASH&expiring=7", headers=fixed).get_data(as_text=True)
    assert shown_of(body) == ["PH-SOON"]
    assert re.findall(r'<div id="field-(\w+)"', body) == ["expiring"]  # its message goes away
    assert 'id="error-expiring"' not in body


def test_the_days_an_agreement_was_made_revoked_or_cancelled_narrow_the_list(app, client, login_as):
    # 15:59:59 and 16:00 UTC on 4 February: the last second of the 4th and the first of the 5th in Hong Kong.
    last_of_4th, first_of_5th = (
        datetime(2026, 2, 4, 15, 59, 59, tzinfo=UTC),
        datetime(2026, 2, 4, 16, tzinfo=UTC),
    )
    long_ago = datetime(2025, 6, 1, tzinfo=UTC)
    add_agreements(
        app,
        {"customer_ref": "MADE-4TH", "created_at": last_of_4th},
        {"customer_ref": "MADE-5TH", "created_at": first_of_5th},
        {
            "customer_ref": "REVOKED-5TH",
            "status": "revoked",
            "created_at": long_ago,
            "revoked_at": first_of_5th,
        },
        {
            "customer_ref": "CANCELLED-4TH",
            "status": "cancelled_by_customer",
            "created_at": long_ago,
            "cancelled_at": last_of_4th,
        },
    )
    login_as("viewer")
    day = "day_from=2026-02-04&day_to=2026-02-04"
    assert shown(client.get(f"/agreements/?{day}")) == ["MADE-4TH"]
    assert shown(client.get("/agreements/?day_from=2026-02-05")) == ["MADE-5TH"]
    assert shown(client.get(f"/agreements/?dated=revoked&{day}")) == []
    assert shown(client.get("/agreements/?dated=revoked&day_to=2026-02-05")) == ["REVOKED-5TH"]
    assert shown(client.get(f"/agreements/?dated=cancelled&{day}")) == ["CANCELLED-4TH"]


def test_the_new_agreements_bar_counts_only_those_the_filters_match(app, client, login_as):
    login_as("viewer")
    with app.app_context():
        cursor = latest_event_id(db.session)
        for wallet in ("GCASH", "ALIPAY_HK", "GCASH"):
            agreement = make_agreement(db.session, wallet=wallet)
            record_event(db.session, "agreement", agreement.id, "created", {"status": "active"})
        last = agreement.id
        db.session.commit()
    page = client.get("/agreements/?wallet=GCASH").get_data(as_text=True)
    assert 'data-live-rows="/agreements/rows"' in page
    bar = " ".join(client.get(f"/agreements/new?wallet=GCASH&after={cursor}").get_data(as_text=True).split())
    assert "2 new agreements — show</button>" in bar and 'hx-get="/agreements/?wallet=GCASH"' in bar
    assert "1 more does not match your filters" in bar
    rows = client.get(f"/agreements/rows?id={last}").get_data(as_text=True)
    assert re.findall(r'<tr id="agreement-(\d+)"', rows) == [str(last)]


CONSULTED = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)  # 09:00 in Hong Kong, an hour before the fake clock
LINK = "https://open-sea.example/antom/authorize/link-9f2a?x=1&y=2"


@pytest.mark.parametrize(
    ("fields", "offered"),
    [
        ({"status": "pending"}, True),
        ({"status": "pending", "auth_code": "AUTHCODE-1"}, False),  # the customer used it already
        ({"status": "active", "activated_at": ACTIVATED}, False),
        ({"status": "expired"}, False),
        ({"status": "failed"}, False),
    ],
)
def test_the_authorisation_link_shows_only_while_the_customer_may_still_use_it(
    app, client, login_as, fake_clock, fields, offered
):
    login_as("support")
    [agreement_id] = add_agreements(app, {"auth_url": LINK, "created_at": CONSULTED, **fields})
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert ('id="auth-link"' in page) is offered
    assert (LINK.replace("&", "&amp;") in page) is offered
    if offered:
        assert 'id="copy-auth-link"' in page and ">Copy the link</button>" in page
        # Consulted at 09:00 HKT, sent out for a day; the fake clock stands at 10:00 HKT.
        assert "Valid until 2026-01-06 09:00 HKT (expires in 23 h 0 min)" in text_of(page, "auth-link-expiry")


def test_the_link_counts_down_in_minutes_at_the_end(app, client, login_as, fake_clock):
    [agreement_id] = add_agreements(app, {"auth_url": LINK, "created_at": CONSULTED})
    fake_clock.set(CONSULTED + timedelta(hours=23, minutes=48))
    login_as("manager")
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert "(expires in 12 min)" in text_of(page, "auth-link-expiry")


@pytest.mark.parametrize("role", ["viewer", "finance"])
def test_only_those_who_act_on_agreements_see_the_customer_s_link(app, client, login_as, role):
    # Whoever opens the link first binds their own wallet to the customer's agreement.
    [agreement_id] = add_agreements(app, {"auth_url": LINK, "created_at": CONSULTED})
    login_as(role)
    page = client.get(f"/agreements/{agreement_id}").get_data(as_text=True)
    assert 'id="auth-link"' not in page and "link-9f2a" not in page
