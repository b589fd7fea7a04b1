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


@click.command("simulate")
@click.option("--minutes", default=5.0, show_default=True, type=click.FloatRange(min=0.05))
@click.option(
    "--rate", default=20.0, show_default=True, type=click.FloatRange(min=0.1), help="Actions a minute."
)
@click.option(
    "--url",
    default=None,
    help="The running back office to drive (default: PUBLIC_BASE_URL); it must run with SANDBOX=1.",
)
@click.option(
    "--key",
    default=None,
    help="A sandbox API key (bo_test_…) made at /admin/api-keys; without it, one is made here.",
)
@click.option("--seed", default=None, type=int, help="Repeat a run's choices.")
def simulate_command(minutes: float, rate: float, url: str | None, key: str | None, seed: int | None) -> None:
    """Drive storefront traffic through the storefront API against the sandbox providers.

    Uses the key given, or makes one of its own (audited, expiring ten minutes after the run), then starts
    agreements that customers approve or decline, charges them, takes AlipayHK sales with every
    shopper outcome, refunds and revokes, printing each step and a summary.
    """
    import random
    from datetime import timedelta

    from dashboard import clock
    from dashboard.api.models import SCOPES
    from dashboard.api.service import TEST_PREFIX
    from dashboard.api.service import create_key
    from dashboard.sandbox.traffic import Traffic

    if key is not None and not key.startswith(TEST_PREFIX):
        raise click.ClickException(f"simulate drives the sandbox providers only: give a {TEST_PREFIX}… key")
    if key is None and not current_app.config["SANDBOX"]:
        raise click.ClickException("simulate drives the sandbox providers only: run it with SANDBOX=1")
    base = (url or current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    if key is None:
        expires = clock.now() + timedelta(minutes=minutes + 10)
        key = create_key("traffic simulator", SCOPES, expires, actor_id=None).secret
    click.echo(f"driving {base} for {minutes:g} min at {rate:g} actions a minute…")
    traffic = Traffic(base + "/api/v1", key, random.Random(seed), say=click.echo)
    done = traffic.run(minutes, rate)
    click.echo(f"done: {sum(done.values())} actions")
    for what, count in sorted(done.items()):
        click.echo(f"  {count:5d}  {what}")
