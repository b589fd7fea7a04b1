"""The audit log page, its filters and pages, redaction, and the tamper-evident chain."""

from __future__ import annotations

import re
import threading
from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import delete
from sqlalchemy import update

from dashboard.audit import service as audit
from dashboard.audit.checkpoints import current_checkpoint
from dashboard.audit.checkpoints import parse_checkpoints
from dashboard.audit.checkpoints import write_checkpoint
from dashboard.audit.models import AuditChainHead
from dashboard.audit.models import AuditLog
from dashboard.audit.tasks import anchor_audit_chain
from dashboard.db import write_transaction
from dashboard.extensions import db
from dashboard.listing import PAGE_SIZE
from tests.conftest import skip_unless_postgresql


def record(app, action: str, count: int = 1, **fields) -> None:
    """Append ``count`` entries in one committed transaction."""
    with app.test_request_context():
        for _ in range(count):
            audit.record(db.session, action, **fields)
        db.session.commit()


def shown_seqs(response) -> list[int]:
    return shown_seqs_of(response.get_data(as_text=True))


def shown_seqs_of(page: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<tr id="audit-(\d+)"', page)]


def older_entries_url(page: str) -> str | None:
    """Return where the page's "Older entries" link leads, or None when it has none."""
    link = re.search(r'<a href="([^"]+)"\s+hx-get="[^"]+"[^>]*>Older entries', page)
    return link.group(1).replace("&amp;", "&") if link else None


def verify(app):
    with app.app_context():  # `flask audit-verify` runs inside the app context FlaskGroup pushes
        return app.test_cli_runner().invoke(args=["audit-verify"])


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_audit_log_lists_entries_newest_first(app, client, login_as, role):
    login_as(role)
    record(app, "test.first")
    record(app, "test.second")
    response = client.get("/audit/")
    assert response.status_code == 200
    seqs = shown_seqs(response)
    assert seqs == sorted(seqs, reverse=True)
    page = response.get_data(as_text=True)
    assert page.index("test.second") < page.index("test.first")


def test_filter_by_action_prefix(app, client, login_as):
    login_as("viewer")
    record(app, "payment.refunded")
    record(app, "payment.captured")
    record(app, "paymentx.other")
    record(app, "user.poked")
    page = client.get("/audit/?action=payment.").get_data(as_text=True)
    assert "payment.refunded" in page and "payment.captured" in page
    assert "paymentx.other" not in page and "user.poked" not in page


def test_action_prefix_is_literal_not_a_pattern(app, client, login_as):
    login_as("viewer")
    record(app, "test_ok")
    record(app, "testXok")
    page = client.get("/audit/?action=test_").get_data(as_text=True)
    assert "test_ok" in page and "testXok" not in page


def test_filter_by_actor_email(app, client, login_as):
    login_as("viewer")
    record(app, "test.by_alice", actor_label="alice@staff.example")
    record(app, "test.by_bob", actor_label="bob@staff.example")
    page = client.get("/audit/?actor=Alice@Staff.example").get_data(as_text=True)
    assert "test.by_alice" in page and "test.by_bob" not in page


def test_filter_by_object(app, client, login_as):
    login_as("viewer")
    record(app, "test.on_user_7", object_type="user", object_id=7)
    record(app, "test.on_user_8", object_type="user", object_id=8)
    record(app, "test.on_payment_7", object_type="payment", object_id=7)
    page = client.get("/audit/?object_type=user&object_id=7").get_data(as_text=True)
    assert "test.on_user_7" in page
    assert "test.on_user_8" not in page and "test.on_payment_7" not in page


@pytest.mark.parametrize(
    ("object_type", "object_id", "href", "text"),
    [
        ("payment", 437, "/payments/437", "payment 437"),
        ("refund", 9, "/payments/refunds/9", "refund 9"),
        ("agreement", 12, "/agreements/12", "agreement 12"),
        ("ach_batch", 3, "/ach/batches/3", "payroll batch 3"),
        ("notification", 21, "/notifications/21", "notification 21"),
        ("user", 5, "/admin/users/5", "user 5"),
    ],
)
def test_an_entry_links_its_object_for_whoever_may_open_it(
    app, client, login_as, object_type, object_id, href, text
):
    record(app, "test.linked", object_type=object_type, object_id=object_id)
    login_as("admin")
    assert f'<a href="{href}">{text}</a>' in client.get("/audit/").get_data(as_text=True)


def test_an_entry_names_without_a_link_what_the_reader_may_not_open(app, client, login_as):
    record(app, "test.linked", object_type="user", object_id=5)
    record(app, "test.linked", object_type="report", object_id=1)
    login_as("viewer")
    page = client.get("/audit/").get_data(as_text=True)
    assert "<td>user 5</td>" in page and "/admin/users/5" not in page
    assert "<td>report 1</td>" in page


def test_filter_by_hong_kong_day(app, client, fake_clock, login_as):
    fake_clock.set(datetime(2026, 1, 5, 15, 59, tzinfo=UTC))  # 23:59 on 5 January in Hong Kong
    record(app, "test.late_on_the_fifth")
    fake_clock.set(datetime(2026, 1, 5, 16, 1, tzinfo=UTC))  # 00:01 on 6 January in Hong Kong
    record(app, "test.early_on_the_sixth")
    fake_clock.set(datetime(2026, 1, 6, 16, 0, tzinfo=UTC))  # 00:00 on 7 January in Hong Kong
    record(app, "test.on_the_seventh")
    login_as("viewer")

    sixth = client.get("/audit/?day_from=2026-01-06&day_to=2026-01-06").get_data(as_text=True)
    assert "test.early_on_the_sixth" in sixth
    assert "test.late_on_the_fifth" not in sixth and "test.on_the_seventh" not in sixth
    fifth = client.get("/audit/?day_to=2026-01-05").get_data(as_text=True)
    assert "test.late_on_the_fifth" in fifth and "test.early_on_the_sixth" not in fifth
    assert "2026-01-06 00:01:00" in sixth  # shown in Hong Kong time


def test_a_day_filter_lists_entries_by_time_and_pages_through_ties_once_each(
    app, client, fake_clock, login_as
):
    fake_clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    record(app, "test.tied", count=PAGE_SIZE + 2)  # one instant: ties go by chain position
    fake_clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=UTC))
    record(app, "test.next_day")
    record(app, "test.set_back")
    with app.app_context():  # as a server whose wall clock was set back a day and an hour writes it
        db.session.execute(
            update(AuditLog)
            .where(AuditLog.action == "test.set_back")
            .values(created_at=datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
        )
        db.session.commit()
    login_as("viewer")

    first = client.get("/audit/?day_to=2026-01-05")
    url = older_entries_url(first.get_data(as_text=True))
    assert url, "no Older entries link"
    second = client.get(url)
    with app.app_context():
        by_action = dict(db.session.execute(db.select(AuditLog.seq, AuditLog.action)).all())
    listed = shown_seqs(first) + shown_seqs(second)
    tied = sorted((seq for seq, action in by_action.items() if action == "test.tied"), reverse=True)
    set_back = [seq for seq, action in by_action.items() if action == "test.set_back"]
    # The latest-written entry is the earliest in time, so it comes last.
    assert listed == tied + set_back
    assert "Older entries" not in second.get_data(as_text=True)


def every_page(client, url: str) -> list[int]:
    """Return the entries each page lists, following "Older entries" to the end."""
    seqs = []
    while url:
        page = client.get(url).get_data(as_text=True)
        seqs += shown_seqs_of(page)
        url = older_entries_url(page)
    return seqs


@pytest.mark.parametrize("walked", [10, PAGE_SIZE + 20])
def test_a_day_filter_with_another_lists_every_match_once_however_far_the_first_walk_reaches(
    app, client, fake_clock, login_as, monkeypatch, walked
):
    # Each page first looks among the next `walked` entries of the days. With 10, fewer than a page
    # there match and the filter's own index is read; with 70 the first page is found there, and the
    # later ones among fewer than 70 entries left.
    monkeypatch.setattr("dashboard.audit.queries.WALKED", walked)
    fake_clock.set(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    record(app, "test.wanted", count=2 * PAGE_SIZE + 3)
    fake_clock.set(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))
    record(app, "test.other", count=5)
    login_as("viewer")

    listed = every_page(client, "/audit/?action=test.wanted&day_to=2026-01-05")
    with app.app_context():
        wanted = db.session.scalars(
            db.select(AuditLog.seq).where(AuditLog.action == "test.wanted").order_by(AuditLog.seq.desc())
        ).all()
    assert listed == wanted


def test_no_match_says_so(client, login_as):
    login_as("viewer")
    assert "No entries match these filters." in client.get("/audit/?action=nothing.like.this").get_data(
        as_text=True
    )


def test_older_entries_link_pages_by_keyset(app, client, login_as):
    login_as("viewer")
    record(app, "test.bulk", count=PAGE_SIZE + 5)
    first = client.get("/audit/?action=test.bulk")
    first_seqs = shown_seqs(first)
    assert len(first_seqs) == PAGE_SIZE
    url = older_entries_url(first.get_data(as_text=True))
    assert url, "no Older entries link"
    assert f"before={first_seqs[-1]}" in url and "action=test.bulk" in url

    second = client.get(url)
    second_seqs = shown_seqs(second)
    assert len(second_seqs) == 5
    assert max(second_seqs) < min(first_seqs)
    assert "Older entries" not in second.get_data(as_text=True)


def test_a_malformed_page_cursor_starts_at_the_top(app, client, login_as):
    login_as("viewer")
    record(app, "test.top")
    newest = shown_seqs(client.get("/audit/"))
    assert newest and shown_seqs(client.get("/audit/?before=not-a-number")) == newest
    assert shown_seqs(client.get("/audit/?before=-1")) == newest


def test_htmx_filter_returns_only_the_results_block(app, client, login_as):
    login_as("viewer")
    record(app, "test.fragment")
    response = client.get("/audit/?action=test.", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="results"')
    assert "test.fragment" in body
    assert "<html" not in body and 'id="audit-filters"' not in body
    assert "HX-Request" in response.headers["Vary"]


def test_secrets_are_redacted_before_they_are_stored(app, client, login_as):
    login_as("admin")
    record(
        app,
        "test.secrets",
        before={"password": "hunter2-hunter2", "nested": {"session_token": "tok-123"}},
        after={"new_password": "letmein-please", "account_number": "123456789", "name": "Kept"},
    )
    with app.app_context():
        row = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "test.secrets")).one()
        assert row.before == {"password": "[redacted]", "nested": {"session_token": "[redacted]"}}
        assert row.after == {"new_password": "[redacted]", "account_number": "*****6789", "name": "Kept"}
        assert "hunter2" not in row.canonical and "123456789" not in row.canonical
    page = client.get("/audit/?action=test.secrets").get_data(as_text=True)
    assert "hunter2" not in page and "tok-123" not in page and "letmein" not in page
    assert "123456789" not in page and "*****6789" in page
    assert "[redacted]" in page


def change_cell(page: str) -> str:
    """Return the text of the change cell of the first entry the page shows."""
    cell = re.search(r'<td class="change">(.*?)</td>', page, re.S)
    assert cell
    return re.sub(r"<[^>]+>", "", cell.group(1))


def test_amounts_beside_a_currency_read_in_its_format(app, client, login_as):
    login_as("viewer")
    record(
        app,
        "test.money",
        before={"amount_minor": 123450, "currency": "HKD", "status": "pending"},
        after={
            "settlement_amount_minor": 120000,
            "settlement_currency": "USD",
            "fee_minor": 1200,
            "fee_currency": "JPY",
            "total_minor": 5,
            "count": 3,
        },
    )
    text = change_cell(client.get("/audit/?action=test.money").get_data(as_text=True))
    assert "amount HK$1,234.50" in text
    assert "settlement_amount US$1,200.00" in text
    assert "fee JP¥1,200" in text
    # Without a currency beside it, an amount stays as it was stored; a count is no amount.
    assert "total_minor 5" in text and "count 3" in text
    assert "123450" not in text and "HKD" not in text and "status pending" in text


def test_audit_verify_reports_an_intact_chain(app, client):
    record(app, "test.entry", count=3)
    result = verify(app)
    assert result.exit_code == 0
    assert re.search(r"audit chain intact: \d+ entries", result.output)


def test_audit_verify_names_a_tampered_row(app, client):
    record(app, "test.entry", count=4, after={"amount": 100})
    with app.app_context():
        seqs = sorted(db.session.scalars(db.select(AuditLog.seq)))
        target = seqs[-2]
        db.session.execute(update(AuditLog).where(AuditLog.seq == target).values(after={"amount": 1}))
        db.session.commit()
    result = verify(app)
    assert result.exit_code != 0
    assert f"audit chain broken at entry #{target}" in result.output
    assert "row fields differ from the text that was hashed" in result.output


def test_audit_verify_detects_a_recomputed_row_that_breaks_the_links(app, client):
    record(app, "test.entry", count=3)
    with app.app_context():
        seqs = sorted(db.session.scalars(db.select(AuditLog.seq)))
        db.session.execute(update(AuditLog).where(AuditLog.seq == seqs[-2]).values(hash="f" * 64))
        db.session.commit()
    result = verify(app)
    assert result.exit_code != 0
    assert f"#{seqs[-2]}" in result.output


def test_audit_verify_detects_a_deleted_middle_row(app, client):
    record(app, "test.entry", count=5)
    with app.app_context():
        seqs = sorted(db.session.scalars(db.select(AuditLog.seq)))
        gone = seqs[2]
        db.session.execute(delete(AuditLog).where(AuditLog.seq == gone))
        db.session.commit()
    result = verify(app)
    assert result.exit_code != 0
    assert f"audit chain broken at entry #{gone + 1}" in result.output
    assert f"sequence jumps from {gone - 1} to {gone + 1}" in result.output


def test_audit_verify_detects_a_deleted_last_row(app, client):
    record(app, "test.entry", count=3)
    with app.app_context():
        last = max(db.session.scalars(db.select(AuditLog.seq)))
        db.session.execute(delete(AuditLog).where(AuditLog.seq == last))
        db.session.commit()
    result = verify(app)
    assert result.exit_code != 0
    assert "chain head says" in result.output


def rewrite_from(app, seq: int, key: bytes, **values) -> None:
    """Change entry ``seq`` and hash it and every later entry again under ``key``, as somebody who
    can write the tables would, and move the chain head along."""
    with app.app_context():
        rows = db.session.scalars(db.select(AuditLog).where(AuditLog.seq >= seq).order_by(AuditLog.seq)).all()
        prev = (
            db.session.scalar(db.select(AuditLog.hash).where(AuditLog.seq == seq - 1)) or audit.GENESIS_HASH
        )
        for row in rows:
            if row.seq == seq:
                for name, value in values.items():
                    setattr(row, name, value)
                row.canonical = audit._canonical(audit._row_fields(row))
            row.prev_hash, row.hash = prev, audit.chain_digest(key, prev, row.canonical)
            prev = row.hash
        head = db.session.get(AuditChainHead, 1)
        head.seq, head.hash = rows[-1].seq, prev
        db.session.commit()


def test_a_rewritten_entry_with_every_later_hash_recomputed_fails_without_the_key(app, client):
    record(app, "test.entry", count=4, after={"amount": 100})
    with app.app_context():
        target = sorted(db.session.scalars(db.select(AuditLog.seq)))[-3]
    # Without AUDIT_KEY the best a forger can do is a plain hash, or a key of their own.
    rewrite_from(app, target, b"a key that is not the deployment's", action="test.nothing_happened")

    result = verify(app)

    assert result.exit_code != 0
    assert f"audit chain broken at entry #{target}" in result.output
    assert "hash does not match its content" in result.output


def test_cutting_the_newest_entries_and_rewinding_the_head_fails_against_a_checkpoint(app, client, tmp_path):
    record(app, "test.entry", count=5)
    kept = tmp_path / "checkpoints.log"
    with app.app_context():
        checkpoint = current_checkpoint(db.session)
        write_checkpoint(checkpoint, datetime(2026, 11, 30, tzinfo=UTC), str(kept))
        # The cut needs no key: delete the newest two, point the head at the third newest.
        db.session.execute(delete(AuditLog).where(AuditLog.seq > checkpoint.seq - 2))
        survivor = db.session.scalars(db.select(AuditLog).order_by(AuditLog.seq.desc())).first()
        db.session.execute(update(AuditChainHead).values(seq=survivor.seq, hash=survivor.hash))
        db.session.commit()

    assert verify(app).exit_code == 0  # the chain alone still adds up
    with app.app_context():
        by_file = app.test_cli_runner().invoke(args=["audit-verify", "--checkpoint-file", str(kept)])
        by_value = app.test_cli_runner().invoke(
            args=["audit-verify", "--checkpoint", f"{checkpoint.seq}:{checkpoint.hash}"]
        )

    for result in (by_file, by_value):
        assert result.exit_code != 0
        assert f"entry #{checkpoint.seq} of a checkpoint is gone: the chain was cut back" in result.output


def test_the_checkpoint_job_appends_the_chain_head_to_the_file_at_most_every_period(
    make_app, fake_clock, tmp_path
):
    kept = tmp_path / "checkpoints.log"
    app = make_app(AUDIT_CHECKPOINT_FILE=str(kept), AUDIT_CHECKPOINT_MINUTES=60)
    record(app, "test.entry", count=2)
    with app.app_context():
        anchor_audit_chain()
        record(app, "test.entry")
        anchor_audit_chain()  # within the hour: nothing more
        fake_clock.advance(seconds=3600)
        anchor_audit_chain()
        lines = kept.read_text().splitlines()
        assert [checkpoint.seq for checkpoint in parse_checkpoints(lines)] == [2, 3]
        result = app.test_cli_runner().invoke(args=["audit-verify", "--checkpoint-file", str(kept)])
    assert result.exit_code == 0
    assert "it holds all 2 checkpoints" in result.output


@pytest.mark.parametrize("given", ["3:" + "A" * 64, "three:" + "a" * 64, "3:abc", "3"])
def test_audit_verify_refuses_a_checkpoint_it_cannot_read(app, given):
    record(app, "test.entry")
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["audit-verify", "--checkpoint", "1:" + "a" * 64, "--checkpoint", given]
        )
    assert result.exit_code == 2
    assert "is not SEQ:HASH" in result.output


def _append_concurrently(app, threads: int = 8, each: int = 10) -> list[BaseException]:
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            for index in range(each):
                with app.app_context():
                    with write_transaction(db.session):
                        audit.record(
                            db.session, "test.concurrent", object_type="thread", object_id=f"{number}-{index}"
                        )
                    db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return errors


@pytest.mark.postgres
def test_concurrent_appends_keep_the_chain_gapless_and_intact(app, live_db):
    skip_unless_postgresql(app, "row locks on the chain head")
    record(app, "test.genesis")
    assert _append_concurrently(app) == []
    with app.app_context():
        seqs = list(db.session.scalars(db.select(AuditLog.seq).order_by(AuditLog.seq)))
        assert seqs == list(range(1, 82))
        checked, broken = audit.verify_chain(db.session)
        db.session.remove()
    assert (checked, broken) == (81, None)


@pytest.mark.postgres
def test_concurrent_first_appends_on_an_empty_log_keep_the_chain_intact(app, live_db):
    skip_unless_postgresql(app, "row locks on the chain head")
    errors = _append_concurrently(app)
    assert errors == []
    with app.app_context():
        checked, broken = audit.verify_chain(db.session)
        db.session.remove()
    assert (checked, broken) == (80, None)


def _newest_shown(client, url: str) -> int:
    region = re.search(r'<section id="results"([^>]*)>', client.get(url).get_data(as_text=True)).group(1)
    assert 'data-live-newest-of="audit"' in region
    return int(re.search(r'data-live-newest="(\d+)"', region).group(1))


def test_the_new_entries_bar_counts_only_entries_the_filters_match(app, client, login_as):
    login_as("viewer")
    record(app, "test.before")
    newest = _newest_shown(client, "/audit/?action=test.")
    record(app, "test.match", count=2)
    record(app, "other.entry")
    bar = " ".join(client.get(f"/audit/new?action=test.&after={newest}").get_data(as_text=True).split())
    assert "2 new entries — show</button>" in bar
    assert 'hx-get="/audit/?action=test."' in bar
    assert "1 more does not match your filters" in bar


def test_the_live_poll_names_the_newest_entry_to_the_roles_that_read_the_log(app, client, login_as):
    login_as("viewer")
    record(app, "test.one")
    with app.app_context():
        seq = db.session.query(AuditLog.seq).order_by(AuditLog.seq.desc()).limit(1).scalar()
    assert client.get("/live?after=0&newest=audit").get_json()["newest"] == {"audit": seq}
    login_as("support")
    assert client.get("/live?after=0&newest=audit").status_code == 403
    assert client.get("/audit/new?after=0").status_code == 403
