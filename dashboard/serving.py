"""Serve the app on a threaded server until Ctrl-C or SIGTERM (``demo``, ``serve``, ``sandbox``)."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import click
from flask import Flask


def serve_until_stopped(
    app: Flask, host: str, port: int, threads: int, banner: str, on_ready: Callable[[], Any] | None = None
) -> None:
    """Serve ``app`` on a threaded server until Ctrl-C or SIGTERM.

    The server listens before ``on_ready`` runs in the main thread (the demo's seeding calls
    the app's own sandbox over HTTP); whatever ``on_ready`` returns is called to stop it.
    """
    from waitress import create_server

    server = create_server(app, host=host, port=port, threads=threads)
    listener = threading.Thread(target=server.run, name="http", daemon=True)
    listener.start()
    click.echo(f"{banner} on http://{host}:{server.effective_port}  (Ctrl-C stops)")
    stop_ready: Callable[[], Any] | None = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        if on_ready is not None:
            stop_ready = on_ready()
        # Huey's consumer (started by on_ready) installs handlers that only set flags; take the
        # signals back so Ctrl-C and SIGTERM stop the server too.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while listener.is_alive():
            listener.join(timeout=0.5)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if stop_ready is not None:
            stop_ready()
        server.close()
