"""The panel's URL: refused when the key would travel in clear text."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["check_base_url"]


def check_base_url(base_url: str, *, allow_http: bool) -> str:
    """Refuse URLs that would send the key in clear text to another machine."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"base_url must be an http(s) URL, not {base_url!r}"
        raise ValueError(msg)
    if parts.scheme == "http" and not allow_http and not _is_loopback(parts.hostname):
        msg = (
            f"refusing plain http to {parts.hostname}: the API key would travel "
            "unencrypted; use https or pass allow_http=True"
        )
        raise ValueError(msg)
    return base_url


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
