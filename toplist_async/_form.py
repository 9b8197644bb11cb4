"""Form-encoding a request body, the default encoding, fast for lists of ids."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote_plus

__all__ = ["form_body"]

# Letters, digits, "_.~-" and ",": what ids, actions and most values are made
# of, sent as they are (every form parser reads a literal ","). Quoting a
# list of 100 ids costs 25 times more than the whole JSON encoding.
_PLAIN = re.compile(r"[\w.~,-]*", re.ASCII)


def _quoted(text: str) -> str:
    return text if _PLAIN.fullmatch(text) else quote_plus(text)


def form_body(body: Mapping[str, object]) -> bytes:
    """`body` as `application/x-www-form-urlencoded` bytes (UTF-8)."""
    return "&".join(
        f"{_quoted(name)}={_quoted(value if isinstance(value, str) else str(value))}"
        for name, value in body.items()
    ).encode()
