"""
How long the largest answer each action accepts holds the event loop.

What it measures. The transport refuses an answer past its action's cap
(`toplist_async._caps.answer_cap`). Everything below the cap is read,
redacted, decoded and converted on the event loop, in one go: that time is how
long every other task of the program (and a caller's own `asyncio.timeout`)
waits. For each action, answers exactly at the cap are built in these shapes:

- `realistic`: what panels send (numbers as strings, long service names and
  descriptions, per-order errors), repeated up to the cap;
- `dense`: the shape that costs the decoder most per byte, many tiny JSON
  values (`[[],[],...]` or an object of many one-character keys);
- `dense, escaped`: many tiny objects whose key is a JSON escape (`{"\\/":0}`),
  so the decoded answer is also checked for an escaped spelling of the key.

Status, cancel and refill caps are taken for a full batch of 100 ids. The
figure is the median CPU time of redact + decode + scrub + convert over the rounds,
in milliseconds; the old single cap (32 MiB) is shown for comparison.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks._common import (
    base_parser,
    median,
    print_table,
    report,
    write_json,
)
from toplist_async._apikey import ApiKey
from toplist_async._caps import answer_cap
from toplist_async._decode import NotJSON, decode_json, to_services
from toplist_async._status_answers import to_statuses

OLD_CAP = 32 * 1024 * 1024
KEY = ApiKey("sk-live-0123456789abcdef0123456789abcdef")
IDS = list(range(1, 101))

SERVICE = {
    "service": "1",
    "name": "Instagram Followers [Real, 30 days refill] [Max 500K] [Start 0-1h]",
    "type": "Default",
    "category": "Instagram Followers",
    "rate": "0.95",
    "min": "10",
    "max": "500000",
    "refill": True,
    "cancel": False,
    "description": "Real accounts; speed 10K a day; drop 5 %. " * 4,
}
STATUS = {
    "charge": "0.27",
    "start_count": "1200",
    "status": "In progress",
    "remains": "50",
    "currency": "USD",
}


def _fill(unit: Callable[[int], bytes], cap: int) -> bytes:
    """A JSON list of `unit(i)` entries, as many as fit under `cap` bytes."""
    parts, size, i = [], 2, 0
    while True:
        entry = unit(i)
        if size + len(entry) + 1 > cap:
            break
        parts.append(entry)
        size += len(entry) + 1
        i += 1
    return b"[" + b",".join(parts) + b"]"


def _dense_object(cap: int) -> bytes:
    """An object of many short keys with tiny values, up to `cap` bytes."""
    return _fill(lambda i: b'{"%d":0}' % (i % 10), cap)


def _status_answer(cap: int) -> bytes:
    entries = {str(i): STATUS for i in IDS}
    body = json.dumps(entries).encode()
    # Per-order errors as long as the cap lets them be.
    room = (cap - len(body)) // len(IDS) - 40
    errors = {str(i): {"error": "x" * room} for i in IDS}
    return json.dumps(errors).encode()


def _convert_statuses(body: Any) -> None:
    if isinstance(body, dict):
        to_statuses(body, IDS)


def _convert_services(body: Any) -> None:
    to_services(body)


def _decode_only(body: Any) -> None:
    """Dense answers fail conversion at once: their cost is the decoding."""


CASES: list[tuple[str, str, int, Callable[[int], bytes], Callable[[Any], None]]] = [
    (
        "services",
        "realistic",
        answer_cap("services", 0),
        lambda cap: _fill(
            lambda i: json.dumps({**SERVICE, "service": i + 1}).encode(), cap
        ),
        _convert_services,
    ),
    (
        "services",
        "dense",
        answer_cap("services", 0),
        lambda cap: _fill(lambda i: b"[]", cap),
        _decode_only,
    ),
    (
        "services",
        "dense, escaped",
        answer_cap("services", 0),
        lambda cap: _fill(lambda i: b'{"\\/":0}', cap),
        _decode_only,
    ),
    (
        "status",
        "realistic",
        answer_cap("status", 100),
        _status_answer,
        _convert_statuses,
    ),
    (
        "status",
        "dense",
        answer_cap("status", 100),
        _dense_object,
        _decode_only,
    ),
    (
        "balance",
        "dense",
        answer_cap("balance", 0),
        lambda cap: _fill(lambda i: b"[]", cap),
        _decode_only,
    ),
    (
        "old cap",
        "dense",
        OLD_CAP,
        lambda cap: _fill(lambda i: b"[]", cap),
        _decode_only,
    ),
]


def handle(raw: bytes, convert: Callable[[Any], None]) -> None:
    """What the transport and the client do with an accepted answer."""
    raw = KEY.redact_raw(raw)
    try:
        body = decode_json(raw)
    except NotJSON:
        return
    if KEY.may_hide_in(raw):
        body = KEY.scrub(body)
    convert(body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser("bench_answer_caps", __doc__, rounds=5, extra=lambda _: None)
    args: argparse.Namespace = parser.parse_args(argv)
    answers = [
        (action, shape, cap, build(cap), convert)
        for action, shape, cap, build, convert in CASES
    ]
    times: dict[tuple[str, str], list[float]] = {(a, s): [] for a, s, *_ in answers}
    for round_index in range(args.warmup + args.rounds):
        for action, shape, _, raw, convert in answers:
            started = time.process_time()
            handle(raw, convert)
            elapsed = time.process_time() - started
            if round_index >= args.warmup:
                times[(action, shape)].append(elapsed * 1000)
    rows = [
        (
            action,
            shape,
            f"{len(raw) / 1024:.0f}",
            f"{median(times[(action, shape)]):.1f}",
        )
        for action, shape, _, raw, _ in answers
    ]
    print_table(
        "Event-loop time of the largest accepted answer (median CPU ms)",
        ["action", "shape", "KiB", "ms"],
        rows,
    )
    document = report(
        "bench_answer_caps",
        args,
        ["msgspec"],
        figures=[
            {"action": a, "shape": s, "bytes": len(r), "ms": times[(a, s)]}
            for a, s, _, r, _ in answers
        ],
    )
    write_json(args.json, document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
