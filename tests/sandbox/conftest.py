"""A sandbox app (SANDBOX=1) served on a loopback port, with a test-only notification receiver.

The receiver sits in front of the app at ``/webhooks/antom`` and ``/webhooks/worldpay`` (the
default ``ANTOM_NOTIFY_PATH`` and ``WORLDPAY_WEBHOOK_PATH``)
and answers according to a script, so the sender's retries can be driven without the real
webhook. Nothing here touches the app's database: the simulators keep their own SQLite file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server
from werkzeug.wrappers import Request
from werkzeug.wrappers import Response

from dashboard import create_app
from dashboard.extensions import db
from dashboard.providers.antom import AntomClient
from dashboard.providers.antom.consts import NOTIFICATION_ACK
from dashboard.providers.antom.settings import from_app
from dashboard.providers.worldpay import WorldpayClient
from dashboard.providers.worldpay.settings import from_app as worldpay_from_app
from dashboard.sandbox.core import Sandbox
from dashboard.sandbox.store import SandboxBase
from tests.conftest import test_settings

NOTIFY_PATH = "/webhooks/antom"
WORLDPAY_PATH = "/webhooks/worldpay"


@dataclass
class Received:
    """One notification the receiver got."""

    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Stands in for the dashboard's webhook: records every POST, answers per a script."""

    received: list[Received] = field(default_factory=list)
    #: answers to give, in order, before acknowledging: (status, body)
    script: list[tuple[int, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, times: int, status: int = 500, body: bytes = b"oops") -> None:
        self.script.extend([(status, body)] * times)

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            self.received.append(Received(dict(request.headers), request.get_data()))
            status, body = self.script.pop(0) if self.script else (200, NOTIFICATION_ACK)
        return Response(body, status=status, content_type="application/json")(environ, start_response)

    def reset(self) -> None:
        with self.lock:
            self.received.clear()
            self.script.clear()

    def kinds(self) -> list[str]:
        return [r.json.get("notifyType") or r.json.get("authorizationNotifyType") for r in self.received]

    def events(self) -> list[Received]:
        """Return the Worldpay events received (those with eventDetails)."""
        return [r for r in self.received if "eventDetails" in r.json]

    def event_types(self) -> list[str]:
        return [r.json["eventDetails"]["type"] for r in self.events()]


@dataclass
class SandboxServer:
    """The running sandbox app and helpers."""

    app: Flask
    url: str
    receiver: Receiver

    @property
    def sandbox(self) -> Sandbox:
        return self.app.extensions["sandbox"]

    def client(self, **options: Any) -> AntomClient:
        return from_app(self.app, **options)


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """Serve a SANDBOX=1 app on 127.0.0.1 (threaded) with the receiver in front of it."""
    tmp_dir: Path = tmp_path_factory.mktemp("sandbox")
    receiver = Receiver()
    holder: dict[str, Flask] = {}

    def dispatch(environ, start_response):
        if environ.get("PATH_INFO", "").startswith((NOTIFY_PATH, WORLDPAY_PATH)):
            return receiver(environ, start_response)
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, dispatch, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(
        test_settings(
            tmp_dir,
            SANDBOX=True,
            PUBLIC_BASE_URL=url,
            SANDBOX_TIME_SCALE=0.001,
            SANDBOX_TIMEOUT_SECONDS=1.0,
            SANDBOX_SEED="tests",
            WTF_CSRF_ENABLED=True,
        )
    )
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield SandboxServer(app, url, receiver)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        app.extensions["sandbox"].engine.dispose()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer, fake_clock) -> Iterator[SandboxServer]:
    """The sandbox server with empty simulator tables, a fake clock and a fresh receiver."""
    engine = sandbox_server.sandbox.engine
    with engine.begin() as connection:
        for table in reversed(SandboxBase.metadata.sorted_tables):
            connection.execute(table.delete())
    sandbox_server.receiver.reset()
    yield sandbox_server


@pytest.fixture
def antom(sandbox: SandboxServer) -> AntomClient:
    """A client built from the sandbox app's settings (nothing configured by hand)."""
    return sandbox.client()


@pytest.fixture
def worldpay(sandbox: SandboxServer) -> WorldpayClient:
    """A Worldpay client built from the sandbox app's settings (nothing configured by hand)."""
    return worldpay_from_app(sandbox.app)


@pytest.fixture
def run_due(sandbox: SandboxServer) -> Callable[[], int]:
    """Resolve due simulator work and deliver due notifications, in this thread."""
    from dashboard.sandbox.sender import run_due

    return lambda: run_due(sandbox.sandbox)
