"""The sandbox of one app: its settings, engine, keys and HTTP session, plus fault switches."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask import current_app
from sqlalchemy import Engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import clock
from dashboard.config import is_app_or_loopback
from dashboard.config import sandbox_base_url
from dashboard.providers.antom.consts import PROVIDER as ANTOM
from dashboard.providers.antom.settings import AntomSandbox
from dashboard.providers.antom.settings import AntomSettings
from dashboard.providers.antom.settings import notify_url
from dashboard.providers.antom.settings import resolve
from dashboard.providers.hkach.consts import PROVIDER as HKACH
from dashboard.providers.hkach.settings import HkachSandbox
from dashboard.providers.hkach.settings import HkachSettings
from dashboard.providers.hkach.settings import resolve as resolve_hkach
from dashboard.providers.http import build_session
from dashboard.providers.worldpay.consts import PROVIDER as WORLDPAY
from dashboard.providers.worldpay.settings import WorldpaySandbox
from dashboard.providers.worldpay.settings import WorldpaySettings
from dashboard.providers.worldpay.settings import resolve as resolve_worldpay
from dashboard.sandbox.keys import HkachKeys
from dashboard.sandbox.keys import SandboxKeys
from dashboard.sandbox.keys import ensure_keys
from dashboard.sandbox.keys import hkach_keys
from dashboard.sandbox.keys import worldpay_credentials
from dashboard.sandbox.store import FaultSwitch
from dashboard.sandbox.store import build_engine

#: Fault name → what it does. Per call: header ``X-Sandbox-Fault: timeout, latency=250``;
#: globally: a switch on the /sandbox page (optionally for one operation and N calls).
FAULTS: Mapping[str, str] = {
    "latency": "answer after an added delay (latency in ms)",
    "timeout": "process the call, then answer only after SANDBOX_TIMEOUT_SECONDS (past the client's timeout)",
    "http_500": "process the call, then answer HTTP 500 without a result",
    "http_503": "answer HTTP 503 without processing the call",
    "http_429": "answer HTTP 429 (too many requests) without processing the call",
    "malformed_json": "process the call, then answer a correctly signed body that is not JSON",
    "unknown_exception": "answer Antom's result U UNKNOWN_EXCEPTION without processing the call",
    "bad_signature": "process the call, then answer with a response signature that does not verify",
    "duplicate_notification": "send every notification the call causes twice",
    "no_notification": (
        "send none of the notifications the call causes, as when no notification address is "
        "configured at Antom (e.g. on operation authorize: no AUTHCODE_CREATED, only the redirect)"
    ),
    "notify_before_response": "deliver the call's notifications before answering it",
    "reorder_notifications": "deliver waiting notifications newest first (global switch)",
}
FAULT_HEADER = "X-Sandbox-Fault"
#: Default seconds a "timeout" fault holds the answer back (the client's read timeout is 15 s).
DEFAULT_TIMEOUT_SECONDS = 20.0


@dataclass
class Sandbox:
    """Everything the simulators of one app need, usable without an app context (sender thread)."""

    engine: Engine
    keys: SandboxKeys
    antom: AntomSettings
    worldpay: WorldpaySettings
    hkach: HkachSettings
    hkach_keys: HkachKeys
    #: public URL of the simulators, e.g. http://127.0.0.1:5000/sandbox
    base_url: str
    #: where notifications go unless a request named its own notify URL
    default_notify_url: str
    public_base_url: str
    time_scale: float
    seed: str
    timeout_seconds: float
    options: Mapping[str, Any]
    #: Provider → what the simulators offer its client settings (keys, credentials).
    offers: Mapping[str, Any]
    http: requests.Session = field(default_factory=lambda: build_session(read_timeout=10.0))
    sender: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Recent calls per rate-limited operation (the HK ACH simulator's limits).
    rate_windows: dict[str, deque[datetime]] = field(default_factory=dict)

    def delay(self, documented_seconds: float) -> timedelta:
        """Return a documented delay compressed by ``SANDBOX_TIME_SCALE`` (timestamps stay real)."""
        return timedelta(seconds=documented_seconds * self.time_scale)

    def may_deliver_to(self, url: str) -> bool:
        """Return whether ``url`` is this app or loopback (a sandbox never calls out)."""
        return is_app_or_loopback(url, self.public_base_url)


def build_sandbox(config: Mapping[str, Any]) -> Sandbox:
    """Create (or open) the sandbox state of an instance folder and check the client settings."""
    instance = Path(config["INSTANCE_PATH"])
    keys = ensure_keys(instance)
    hkach = hkach_keys(instance)
    offers = {
        ANTOM: AntomSandbox(keys.merchant.private_pem, keys.antom.public_pem),
        WORLDPAY: WorldpaySandbox(**worldpay_credentials(instance)),
        HKACH: HkachSandbox(
            customer_code=hkach.customer_code,
            api_key=hkach.api_key,
            private_key_path=str(hkach.customer_key_path),
            bank_public_key_path=str(hkach.bank_public_key_path),
        ),
    }
    antom = resolve(config, offers[ANTOM])  # raises ConfigError on a mismatch
    worldpay = resolve_worldpay(config, offers[WORLDPAY])  # likewise
    return Sandbox(
        engine=build_engine(instance / "sandbox.db"),
        keys=keys,
        antom=antom,
        worldpay=worldpay,
        hkach=resolve_hkach(config, offers[HKACH]),
        hkach_keys=hkach,
        base_url=sandbox_base_url(config),
        default_notify_url=notify_url(config),
        public_base_url=config["PUBLIC_BASE_URL"],
        time_scale=float(config.get("SANDBOX_TIME_SCALE", 1 / 3600)),
        seed=str(config.get("SANDBOX_SEED") or "sandbox"),
        timeout_seconds=float(config.get("SANDBOX_TIMEOUT_SECONDS") or DEFAULT_TIMEOUT_SECONDS),
        options=config,
        offers=offers,
    )


def get_sandbox(app: Flask | None = None) -> Sandbox:
    """Return the sandbox of ``app`` (default: the current app)."""
    return (app or current_app).extensions["sandbox"]


@dataclass(frozen=True)
class ActiveFaults:
    """The faults that apply to one call."""

    names: frozenset[str] = frozenset()
    latency_ms: int = 0

    def __contains__(self, name: str) -> bool:
        return name in self.names


def hold_answer(sandbox: Sandbox, faults: ActiveFaults) -> None:
    """Wait as the latency and timeout faults say before answering a call."""
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if "timeout" in faults:
        time.sleep(sandbox.timeout_seconds)


def parse_fault_header(value: str | None) -> ActiveFaults:
    """Parse ``X-Sandbox-Fault: timeout, latency=250``; unknown names are ignored."""
    names: set[str] = set()
    latency = 0
    for part in (value or "").split(","):
        name, _, argument = part.strip().partition("=")
        if name not in FAULTS:
            continue
        names.add(name)
        if name == "latency":
            latency = max(latency, int(argument or 500))
    return ActiveFaults(frozenset(names), latency)


def take_faults(session: Session, operation: str, header: str | None = None) -> ActiveFaults:
    """Return the faults for one call (header plus matching switches), using up counted switches."""
    found = parse_fault_header(header)
    names, latency = set(found.names), found.latency_ms
    switches = session.scalars(
        select(FaultSwitch).where(FaultSwitch.operation.in_(["*", operation])).order_by(FaultSwitch.id)
    ).all()
    for switch in switches:
        if switch.fault == "reorder_notifications":
            continue  # a delivery-wide switch, read by the sender
        names.add(switch.fault)
        if switch.fault == "latency":
            latency = max(latency, switch.latency_ms or 500)
        if switch.remaining is not None:
            switch.remaining -= 1
            if switch.remaining <= 0:
                session.delete(switch)
    return ActiveFaults(frozenset(names), latency)


def add_switch(
    session: Session,
    fault: str,
    operation: str = "*",
    remaining: int | None = None,
    latency_ms: int | None = None,
) -> FaultSwitch:
    """Turn a global fault on."""
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}")
    switch = FaultSwitch(
        fault=fault,
        operation=operation or "*",
        remaining=remaining,
        latency_ms=latency_ms,
        created_at=clock.now(),
    )
    session.add(switch)
    session.flush()
    return switch
