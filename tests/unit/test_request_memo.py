"""What a request works out once: made once in it, again in the next, apart in another language."""

from __future__ import annotations

from dashboard.i18n import in_language
from dashboard.payments.states import PaymentStatus
from dashboard.request_memo import once_a_request
from dashboard.templating import status_badge


def test_what_is_kept_for_a_request_is_made_once_in_it_and_again_in_the_next(app):
    made = []

    def make(value: str) -> str | None:
        made.append(value)
        return None if value == "nothing" else value.upper()

    with app.test_request_context("/"):
        kept = [once_a_request(make, value) for value in ("a", "a", "b", "nothing", "nothing")]
        assert kept == ["A", "A", "B", None, None]
    with app.test_request_context("/"):
        assert once_a_request(make, "a") == "A"
    assert once_a_request(make, "a") == "A"  # outside any context: made, kept nowhere
    assert made == ["a", "b", "nothing", "a", "a"]


def test_a_block_in_another_language_reads_its_own_words_and_leaves_the_requests(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = status_badge(PaymentStatus.SUCCEEDED)
        with in_language("zh_Hant_HK"):
            chinese = status_badge(PaymentStatus.SUCCEEDED)
        assert status_badge(PaymentStatus.SUCCEEDED) == english
    assert "succeeded" in english and "succeeded" not in chinese
