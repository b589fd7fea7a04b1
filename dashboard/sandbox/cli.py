"""``flask --app dashboard sandbox --port 5001``: the simulators on their own, over real HTTP."""

from __future__ import annotations

import click
from flask import current_app

from dashboard.sandbox import sender
from dashboard.serving import serve_until_stopped


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5001, show_default=True, type=int)
@click.option("--threads", default=16, show_default=True, type=int)
def sandbox_command(host: str, port: int, threads: int) -> None:
    """Serve only the simulators (their stand-in pages, APIs and notification sender).

    Run the dashboard with the same INSTANCE_PATH (it shares the keys) and
    ANTOM_BASE_URL=http://HOST:PORT/sandbox/antom.
    """
    from dashboard import create_app

    base = f"http://{host}:{port}"
    overrides = {"SANDBOX": True, "SANDBOX_BASE_URL": base + "/sandbox"}
    for name in ("INSTANCE_PATH", "DATABASE_URL", "PUBLIC_BASE_URL"):
        overrides[name] = current_app.config[name]
    overrides["ANTOM_BASE_URL"] = base + "/sandbox/antom"
    app = create_app(overrides)
    sandbox = app.extensions["sandbox"]
    sender.start_sender(sandbox)
    click.echo(f"notifications go to {sandbox.default_notify_url}")
    try:
        serve_until_stopped(app, host, port, threads, "sandbox")
    finally:
        sender.stop_sender(sandbox)
