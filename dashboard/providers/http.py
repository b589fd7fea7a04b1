"""One ``requests.Session`` per client, with explicit timeouts and no silent retries."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from dashboard.providers.base import ProviderConfigError

#: Seconds to wait for the TCP connection.
DEFAULT_CONNECT_TIMEOUT = 3.05
#: Seconds to wait for the answer; Antom documents answers within 10 s.
DEFAULT_READ_TIMEOUT = 15.0


class _TimeoutAdapter(HTTPAdapter):
    """Apply a default timeout to every request that does not set one."""

    def __init__(self, timeout: tuple[float, float]):
        # Money-moving POSTs must never be replayed by the transport: retries happen in
        # our jobs, with the same request id, where they are recorded.
        super().__init__(max_retries=0)
        self._timeout = timeout

    def send(self, request, **kwargs):
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def build_session(
    *,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
    user_agent: str = "merchant-back-office",
) -> requests.Session:
    """Return a session whose every request has a (connect, read) timeout."""
    session = requests.Session()
    adapter = _TimeoutAdapter((connect_timeout, read_timeout))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


def require_http_url(base_url: str, label: str) -> None:
    """Raise ProviderConfigError unless ``base_url`` is an http(s) URL with a host (``label`` names it)."""
    split = urlsplit(base_url)
    if split.scheme not in ("https", "http") or not split.netloc:
        raise ProviderConfigError(f"{label} base URL {base_url!r} is not an http(s) URL")
