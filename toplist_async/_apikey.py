"""
The API key, and everything that keeps it out of what the client hands back.

A panel may echo the key in an answer (an error message, a redirect's URL), and
an error reporter that records the local variables of each stack frame (Sentry,
structlog, rich, loguru) would show every buffer that held it. So the key is
checked once, replaced by `***` in all that came from the network, raw and
decoded, and the frames of every error leaving a request are cleared.
"""

from __future__ import annotations

import json
import traceback
from typing import Any
from urllib.parse import quote, quote_plus

import msgspec

__all__ = ["REDACTED", "ApiKey", "clear_frames"]

REDACTED = "***"
# A key shorter than real ones (32+ characters), such as "k" in a test, is not
# searched for: replacing it everywhere would corrupt the text itself.
_MIN_REDACTED_KEY = 8


def _spellings(key: str) -> list[str]:
    """The key as a panel may write it back: verbatim, JSON-escaped, URL-quoted."""
    forms = {
        key,
        json.dumps(key)[1:-1],  # non-ASCII as \uXXXX, as PHP's json_encode does
        json.dumps(key, ensure_ascii=False)[1:-1],
        quote(key, safe=""),
        quote_plus(key),
    }
    forms |= {form.replace("/", "\\/") for form in forms}  # PHP escapes "/" too
    # Longest first, so a form containing another is replaced whole.
    return sorted(forms, key=len, reverse=True)


class ApiKey:
    """The account's key: refused if it cannot travel intact, redacted coming back."""

    def __init__(self, key: str) -> None:
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in key):
            msg = (
                "the API key contains a control character (a newline, carriage "
                "return or tab, as when it is read from a file); strip it first"
            )
            raise ValueError(msg)
        self.value = key
        self._texts = _spellings(key) if len(key) >= _MIN_REDACTED_KEY else []
        self._raws = [text.encode() for text in self._texts]
        self._shortest = min(map(len, self._texts), default=0)
        self._canonical = msgspec.json.encode(key)[1:-1]

    def __repr__(self) -> str:
        return "ApiKey('***')"

    def redact(self, text: str) -> str:
        """`text` with every spelling of the key replaced by `***`."""
        for form in self._texts:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def redact_raw(self, raw: bytes) -> bytes:
        """An answer's bytes with every spelling of the key replaced by `***`."""
        for form in self._raws:
            if form in raw:
                raw = raw.replace(form, REDACTED.encode())
        return raw

    def may_hide_in(self, raw: bytes) -> bool:
        """
        Whether decoding `raw` (already redacted) may still produce the key.

        JSON may escape any character, so a backslash left in the answer can
        spell the key in a way no list of spellings foresees.
        """
        return bool(self._texts) and b"\\" in raw

    def scrub(self, value: Any) -> Any:
        """
        A decoded answer with the key removed from every string in it, in place.

        Iterative, as an answer may nest as deep as the decoder allows; strings
        shorter than the key cannot hold it and are not searched.
        """
        if isinstance(value, str):
            return self.redact(value) if len(value) >= self._shortest else value
        # msgspec writes each character of a string one way only, so a string
        # holding the key shows its canonical spelling in the canonical JSON:
        # one pass in C spares walking answers the key is not in.
        try:
            if self._canonical not in msgspec.json.encode(value):
                return value
        except (TypeError, ValueError, OverflowError, RecursionError):
            pass  # not what the decoder makes: walk it
        shortest = self._shortest
        nodes = [value]
        while nodes:
            node = nodes.pop()
            items = enumerate(node) if isinstance(node, list) else node.items()
            for at, item in items:
                if isinstance(item, str):
                    if len(item) >= shortest:
                        node[at] = self.redact(item)
                elif isinstance(item, list | dict):
                    nodes.append(item)
            if isinstance(node, dict):
                named = [k for k in node if isinstance(k, str) and len(k) >= shortest]
                for name in named:
                    if self.redact(name) != name:
                        node[self.redact(name)] = node.pop(name)
        return value

    def excerpt(self, raw: bytes, chars: int) -> str:
        """
        The start of a body that is not JSON, as text, with no piece of the key.

        Cutting at `chars` may leave the first characters of the key at the
        end; they are dropped too.
        """
        whole = self.redact(raw[: 4 * chars].decode("utf-8", "replace"))
        text = whole[:chars]
        if len(whole) == len(text):
            return text
        for form in self._texts:
            for size in range(min(len(form), len(text)) - 1, 0, -1):
                if text.endswith(form[:size]):
                    return text[:-size]
        return text


def clear_frames(exc: BaseException) -> None:
    """
    Drop the local variables of every frame an error and its causes passed through.

    The frames of aiohttp and of the request builder hold the body and the
    headers, hence the key. Frames still running (the caller's) are left.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        error = todo.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        traceback.clear_frames(error.__traceback__)
        todo += [error.__cause__, error.__context__]
