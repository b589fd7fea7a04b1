"""The second factor's rules: the code window and drift, no replay, single-use recovery codes, the
lockout, and the secret encrypted at rest."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy import text

from dashboard import crypto
from dashboard.audit.models import AuditLog
from dashboard.auth import second_factor
from dashboard.auth.models import RecoveryCode
from dashboard.auth.models import SecondFactor
from dashboard.auth.models import is_enrolled
from dashboard.auth.service import MAX_FAILED_LOGINS
from dashboard.auth.service import AccountLocked
from dashboard.extensions import db
from dashboard.users.models import User
from tests.factories import code_now
from tests.factories import make_second_factor


@pytest.fixture
def staff(app_ctx, fake_clock, create_user) -> User:
    return create_user("manager")


def actions(user_id: int) -> list[str]:
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.object_id == str(user_id)).order_by(AuditLog.seq)
    )
    return [row.action for row in rows]


def failures(user: User) -> int:
    db.session.expire_all()
    return db.session.get(User, user.id).failed_logins


# --- enrolment --------------------------------------------------------------------------------------


def test_the_secret_is_stored_encrypted_and_reads_back_with_the_keys(staff):
    shown = second_factor.enrolment(staff)

    stored = db.session.execute(
        text("SELECT secret FROM second_factors WHERE user_id = :id"), {"id": staff.id}
    ).scalar_one()
    assert shown.secret not in stored
    assert crypto.decrypt(stored) == shown.secret
    assert len(shown.secret) == 32  # 160 bits, RFC 4226's recommended length
    assert (
        shown.uri.startswith("otpauth://totp/Merchant%20back%20office:")
        and f"secret={shown.secret}" in shown.uri
    )


def test_the_page_shows_the_same_pending_secret_until_it_is_confirmed(staff):
    first = second_factor.enrolment(staff)
    assert second_factor.enrolment(staff).secret == first.secret
    assert not is_enrolled(staff.id)


def test_the_qr_code_is_inline_svg_without_script_or_style(staff):
    svg = str(second_factor.enrolment(staff).qr_svg)

    assert svg.startswith("<svg") and "<path" in svg
    assert "<title>QR code of your authenticator secret</title>" in svg
    assert "script" not in svg and "style" not in svg


def test_a_first_right_code_enrols_and_makes_ten_single_use_codes_kept_only_as_keyed_hashes(staff):
    secret = second_factor.enrolment(staff).secret

    codes = second_factor.confirm_enrolment(staff, code_now(secret))

    assert is_enrolled(staff.id)
    assert len(set(codes)) == second_factor.RECOVERY_CODE_COUNT == 10
    assert all(len(code) == 11 and code[5] == "-" for code in codes)
    stored = {row.code_hash for row in db.session.scalars(select(RecoveryCode))}
    assert stored == {crypto.lookup_hash(code.replace("-", "")) for code in codes}
    assert not stored & set(codes)
    assert actions(staff.id)[-1] == "auth.second_factor_enrolled"


def test_a_wrong_first_code_enrols_nothing_and_counts_toward_the_lockout(staff):
    secret = second_factor.enrolment(staff).secret

    with pytest.raises(second_factor.CodeRejected, match="wrong"):
        second_factor.confirm_enrolment(staff, code_now(secret, steps=5))

    assert not is_enrolled(staff.id) and failures(staff) == 1
    assert actions(staff.id)[-1] == "auth.enrol_failed"


# --- the window and replay ---------------------------------------------------------------------------


def pending(user: User) -> str:
    """Enrol ``user`` and return the secret; the next code is checked like a sign-in's."""
    return make_second_factor(db.session, user.id)


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_a_code_of_now_or_one_step_either_side_is_accepted(staff, steps):
    secret = pending(staff)

    second_factor.finish_sign_in(staff, code_now(secret, steps))

    assert failures(staff) == 0
    assert actions(staff.id)[-1] == "auth.login"


@pytest.mark.parametrize("steps", [-2, 2, 40])
def test_a_code_two_steps_away_is_refused_and_counted(staff, steps):
    secret = pending(staff)

    with pytest.raises(second_factor.CodeRejected):
        second_factor.finish_sign_in(staff, code_now(secret, steps))

    assert failures(staff) == 1
    assert actions(staff.id)[-1] == "auth.second_factor_failed"


@pytest.mark.parametrize("typed", ["", "   ", "12345", "1234567", "abcdef"])
def test_an_empty_code_is_asked_for_again_and_a_malformed_one_counts(staff, typed):
    pending(staff)

    with pytest.raises(second_factor.CodeRejected) as refused:
        second_factor.finish_sign_in(staff, typed)

    assert failures(staff) == (0 if not typed.strip() else 1)
    assert refused.value.message == (
        second_factor.MISSING_CODE if not typed.strip() else second_factor.WRONG_CODE
    )


def test_an_accepted_code_is_never_accepted_again_nor_an_older_one(staff, fake_clock):
    secret = pending(staff)
    code = code_now(secret)
    second_factor.finish_sign_in(staff, code)

    fake_clock.advance(seconds=10)  # the same 30-second step
    with pytest.raises(second_factor.CodeRejected):
        second_factor.finish_sign_in(staff, code)
    fake_clock.advance(seconds=30)  # the next step: the earlier code is still within the drift
    with pytest.raises(second_factor.CodeRejected):
        second_factor.finish_sign_in(staff, code)
    second_factor.finish_sign_in(staff, code_now(secret))

    assert db.session.get(SecondFactor, staff.id).last_step == int(fake_clock.now().timestamp()) // 30


def test_a_code_from_an_app_a_step_ahead_blocks_the_step_it_stood_for(staff):
    secret = pending(staff)
    second_factor.finish_sign_in(staff, code_now(secret, steps=1))

    with pytest.raises(second_factor.CodeRejected):
        second_factor.finish_sign_in(staff, code_now(secret))


def test_spaces_inside_a_code_are_ignored(staff):
    secret = pending(staff)
    code = code_now(secret)

    second_factor.finish_sign_in(staff, f" {code[:3]} {code[3:]} ")

    assert failures(staff) == 0


# --- recovery codes -----------------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once_however_it_is_typed(staff, fake_clock):
    secret = second_factor.enrolment(staff).secret
    codes = second_factor.confirm_enrolment(staff, code_now(secret))

    second_factor.finish_sign_in(staff, f"  {codes[3].upper().replace('-', ' ')} ")

    assert second_factor.recovery_codes_left(staff.id) == 9
    used = db.session.scalars(select(AuditLog).where(AuditLog.action == "auth.recovery_code_used")).one()
    assert used.after == {"left": 9}
    assert db.session.scalars(select(AuditLog).where(AuditLog.action == "auth.login")).all()[-1].after == {
        "second_factor": "recovery code"
    }
    with pytest.raises(second_factor.CodeRejected):
        second_factor.finish_sign_in(staff, codes[3])
    assert failures(staff) == 1
    second_factor.finish_sign_in(staff, codes[4])
    assert second_factor.recovery_codes_left(staff.id) == 8


def test_a_recovery_code_of_another_user_is_refused(staff, create_user):
    other = create_user("finance")
    secret = second_factor.enrolment(other).secret
    codes = second_factor.confirm_enrolment(other, code_now(secret))
    pending(staff)

    with pytest.raises(second_factor.CodeRejected):
        second_factor.finish_sign_in(staff, codes[0])

    assert second_factor.recovery_codes_left(other.id) == 10


def test_recovery_codes_made_before_a_key_rotation_still_work(staff, app):
    secret = second_factor.enrolment(staff).secret
    codes = second_factor.confirm_enrolment(staff, code_now(secret))
    old_keys = app.config["DATA_ENCRYPTION_KEYS"]
    newer = Fernet.generate_key().decode()
    app.config["DATA_ENCRYPTION_KEYS"] = (newer, *old_keys)
    try:
        second_factor.finish_sign_in(staff, codes[0])
    finally:
        app.config["DATA_ENCRYPTION_KEYS"] = old_keys

    assert second_factor.recovery_codes_left(staff.id) == 9


# --- the lockout --------------------------------------------------------------------------------------


def test_wrong_codes_lock_the_account_at_the_limit_and_end_its_sessions(staff, fake_clock):
    secret = pending(staff)
    token = staff.session_token
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(second_factor.CodeRejected):
            second_factor.finish_sign_in(staff, "000000" if code_now(secret) != "000000" else "111111")

    with pytest.raises(AccountLocked):
        second_factor.finish_sign_in(staff, code_now(secret, steps=3))

    db.session.expire_all()
    locked = db.session.get(User, staff.id)
    assert locked.is_locked() and locked.session_token != token
    assert "auth.locked" in actions(staff.id)
    with pytest.raises(second_factor.CodeRejected, match="locked"):
        second_factor.finish_sign_in(staff, code_now(secret))
    fake_clock.advance(minutes=16)
    second_factor.finish_sign_in(staff, code_now(secret))
