"""
How much of an answer is read, per action.

An answer the client accepts is decoded on the event loop in one go, so its
size bounds how long every other task waits. Each action reads at most what it
needs; past that the answer is refused as it arrives (gzip included, counted as
it inflates), never read first.
"""

from __future__ import annotations

from typing import NoReturn

import aiohttp

from ._exceptions import ResponseValidationError

__all__ = ["MAX_RESPONSE_BYTES", "answer_cap", "read_capped"]

# The most of an answer that is read, per action. A status or cancel answer
# takes about 150 bytes an id (a few KiB for 100 ids); a catalogue of 5,900
# services with descriptions is about 3 MiB. Decoding the worst answer accepted
# holds the event loop for about 0.3 s (benchmarks/bench_answer_caps.py), not
# the 3.5 s a 32 MiB answer took.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # the catalogue's
_SMALL_ANSWER_BYTES = 64 * 1024
_BYTES_PER_ID = 2 * 1024


def answer_cap(action: str, ids: int) -> int:
    """The size in bytes past which the answer to `action` for `ids` ids is refused."""
    if action == "services":
        return MAX_RESPONSE_BYTES
    return _SMALL_ANSWER_BYTES + ids * _BYTES_PER_ID


async def read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    """The answer's body, or `ResponseValidationError` once it passes `cap` bytes."""
    declared = response.content_length
    if declared is not None:
        if declared > cap:
            _too_large(response.status, cap)
        if "Content-Encoding" not in response.headers:
            # The usual answer: read in one go, as it cannot outgrow its
            # length. A compressed one is counted as it inflates, below.
            return await response.read()
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > cap:
            _too_large(response.status, cap)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(status: int, cap: int) -> NoReturn:
    msg = f"the answer exceeded {cap} bytes and was not read"
    raise ResponseValidationError(msg, status_code=status, not_json=True)
