"""Storefront traffic through the storefront API, against the sandbox providers.

A storefront with its own API key starts agreements that customers approve or decline on the
wallet's stand-in page, charges them, takes AlipayHK sales whose shoppers pick every outcome on
the Worldpay page, refunds some, and revokes now and then: everything over HTTP, as a merchant's
systems and their customers' browsers would, so the pages move as in production.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field

import requests

#: A stand-in page's form token.
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: Wallets customers bind, weighted like Hong Kong's.
WALLETS = ("ALIPAY_HK", "ALIPAY_HK", "ALIPAY_HK", "ALIPAY_CN", "GCASH", "KAKAOPAY")
#: What shoppers do on the AlipayHK page, weighted like a real checkout.
SHOPPER_CHOICES = {
    "capture": 13,
    "authorise": 1,
    "refuse": 2,
    "error": 1,
    "cancel": 2,
    "expire": 1,
    "pending": 1,
}
#: The storefront's actions, weighted: sales and charges most, revocations rarely.
ACTIONS = {"sale": 35, "charge": 32, "agreement": 14, "refund": 14, "revoke": 5}
#: How long the client waits for one answer, in seconds.
TIMEOUT = 20


@dataclass
class Traffic:
    """One storefront's traffic: what it knows of its agreements and payments, and what happened."""

    api: str
    key: str
    rng: random.Random
    say: Callable[[str], None] = print
    #: Agreements whose customer approved, until the back office says they are active.
    approved: list[int] = field(default_factory=list)
    active: list[int] = field(default_factory=list)
    paid: list[int] = field(default_factory=list)
    done: Counter = field(default_factory=Counter)

    def run(self, minutes: float, rate: float) -> Counter:
        """Act ``rate`` times a minute (spaced at random) for ``minutes``; return what was done."""
        stop = time.monotonic() + minutes * 60
        while time.monotonic() < stop:
            self.step()
            time.sleep(min(self.rng.expovariate(rate / 60), max(stop - time.monotonic(), 0)))
        return self.done

    def step(self) -> None:
        """Do one action, chosen by :data:`ACTIONS` among those possible now."""
        self._follow_approved()
        possible = {
            name: weight
            for name, weight in ACTIONS.items()
            if (name not in ("charge", "revoke") or self.active) and (name != "refund" or self.paid)
        }
        action = self.rng.choices(list(possible), list(possible.values()))[0]
        try:
            outcome = getattr(self, action)()
        except requests.RequestException as exc:
            outcome = f"no answer ({exc.__class__.__name__})"
        self.done[f"{action}: {outcome}"] += 1
        self.say(f"{action}: {outcome}")

    # --- the storefront's calls ----------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        return requests.request(method, self.api + path, json=body, headers=headers, timeout=TIMEOUT)

    @staticmethod
    def _said(answer: requests.Response) -> str:
        if answer.ok:
            return answer.json().get("status", str(answer.status_code))
        problem = answer.json() if answer.headers.get("Content-Type", "").endswith("json") else {}
        return f"{answer.status_code} {problem.get('title', '')}".strip()

    def _follow_approved(self) -> None:
        """Ask after the agreements customers approved: the token arrives a moment later."""
        for agreement_id in list(self.approved[:3]):
            status = self._said(self._call("GET", f"/agreements/{agreement_id}"))
            if status != "pending":
                self.approved.remove(agreement_id)
            if status == "active":
                self.active.append(agreement_id)

    def agreement(self) -> str:
        """Start an agreement; the customer approves (most) or declines on the wallet's page."""
        customer = f"sim-{uuid.uuid4().hex[:10]}"
        answer = self._call(
            "POST", "/agreements", {"wallet": self.rng.choice(WALLETS), "customer_reference": customer}
        )
        if not answer.ok:
            return self._said(answer)
        agreement = answer.json()
        decision = "approve" if self.rng.random() < 0.85 else "decline"
        if agreement.get("authorization_url"):
            _press(agreement["authorization_url"], {"decision": decision})
        if decision == "approve":
            self.approved.append(agreement["id"])
        return f"customer chose {decision}"

    def charge(self) -> str:
        """Charge an active agreement an everyday amount."""
        agreement_id = self.rng.choice(self.active)
        minor = self.rng.randint(5, 800) * 100 + self.rng.choice((40, 50, 60, 70, 80, 90, 99))
        answer = self._call(
            "POST",
            f"/agreements/{agreement_id}/charges",
            {"amount": minor, "currency": "HKD", "order_description": "Monthly plan"},
        )
        if answer.status_code == 422 and agreement_id in self.active:
            self.active.remove(agreement_id)  # no longer chargeable (revoked, expired)
        if answer.ok and answer.json().get("status") == "succeeded":
            self.paid.append(answer.json()["id"])
        return self._said(answer)

    def sale(self) -> str:
        """Sell through AlipayHK; the shopper picks an outcome on the Worldpay page."""
        minor = self.rng.randint(20, 3000) * 100 + self.rng.randint(0, 99)
        answer = self._call(
            "POST",
            "/payments",
            {"amount": minor, "currency": "HKD", "narrative": f"Order {self.rng.randint(10000, 99999)}"},
        )
        if not answer.ok:
            return self._said(answer)
        payment = answer.json()
        choice = self.rng.choices(list(SHOPPER_CHOICES), list(SHOPPER_CHOICES.values()))[0]
        if payment.get("redirect_url"):
            _press(payment["redirect_url"], {"choice": choice})
        if choice == "capture":
            self.paid.append(payment["id"])
        return f"shopper chose {choice}"

    def refund(self) -> str:
        """Refund part of a paid payment (now and then more than a manager must approve)."""
        payment_id = self.rng.choice(self.paid)
        share = 0.9 if self.rng.random() < 0.1 else self.rng.uniform(0.05, 0.5)
        payment = self._call("GET", f"/payments/{payment_id}")
        if not payment.ok:
            return self._said(payment)
        amount = max(1, int(payment.json()["amount"] * share))
        answer = self._call(
            "POST", f"/payments/{payment_id}/refunds", {"amount": amount, "reason": "Customer request"}
        )
        return self._said(answer)

    def revoke(self) -> str:
        """Revoke an agreement the customer no longer wants."""
        agreement_id = self.active.pop(self.rng.randrange(len(self.active)))
        return self._said(
            self._call(
                "POST", f"/agreements/{agreement_id}/revoke", {"reason": "Customer closed the account"}
            )
        )


def _press(page_url: str, form: dict[str, str]) -> None:
    """Open a stand-in page and press one of its buttons, following the redirects as a browser does."""
    with requests.Session() as browser:
        page = browser.get(page_url, timeout=TIMEOUT)
        found = _CSRF.search(page.text)
        if page.ok and found:
            browser.post(page_url, data={"csrf_token": found.group(1), **form}, timeout=TIMEOUT)
