"""The panel's URL: refused when the key would travel in clear text."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["check_base_url", "is_loopback"]


def check_base_url(base_url: str, *, allow_http: bool, proxy: str | None = None) -> str:
    """Refuse URLs that would send the key in clear text to another machine."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"base_url must be an http(s) URL, not {base_url!r}"
        raise ValueError(msg)
    if parts.scheme == "https" or allow_http:
        return base_url
    if not _is_loopback(parts.hostname):
        msg = (
            f"refusing plain http to {parts.hostname}: the API key would travel "
            "unencrypted; use https or pass allow_http=True"
        )
        raise ValueError(msg)
    if proxy is not None:
        # Even to this machine: the proxy would carry the key across the network.
        msg = (
            f"refusing plain http through the proxy {urlsplit(proxy).hostname}: "
            "the API key would cross the network unencrypted; use https or "
            "pass allow_http=True"
        )
        raise ValueError(msg)
    return base_url


def is_loopback(url: str) -> bool:
    """Whether `url` points at this machine."""
    return _is_loopback(urlsplit(url).hostname or "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
