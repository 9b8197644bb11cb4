"""`toplist refill` and `toplist refill-status` against a FakePanel."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from tests.conftest import API_KEY
from toplist_async.cli import main
from toplist_async.testing import FakePanel

REFILLABLE, NOT_REFILLABLE = "3", "1"


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(main, list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_refill_and_refill_status(capsys: pytest.CaptureFixture[str]) -> None:
    """`refill` prints each refill id or refusal (exit 10 on a refusal);
    `refill-status` prints where each refill stands."""
    panel = FakePanel(speed=0)
    async with panel as url:
        base = ("--base-url", url, "--api-key", API_KEY)
        link = ("--link", "https://x.test/p", "--quantity", "100")
        _, good, _ = await run(capsys, *base, "add", "--service", REFILLABLE, *link)
        _, plain, _ = await run(
            capsys, *base, "add", "--service", NOT_REFILLABLE, *link
        )
        panel.advance(60)
        good, plain = good.strip(), plain.strip()
        code, out, err = await run(capsys, *base, "refill", f"{good},{plain}")
        assert code == 10
        assert err == "toplist: 1 of 2 orders refused\n"
        lines = [re.split(r" {2,}", line) for line in out.splitlines()]
        assert lines[0] == ["order", "refill", "refused"]
        assert lines[2] == [good, "1"]
        assert lines[3] == [plain, "Refill is disabled for this service"]
        code, out, err = await run(capsys, *base, "refill-status", "1", "7", "--json")
        assert (code, err) == (10, "toplist: 1 of 2 refills refused\n")
        assert json.loads(out) == {
            "1": {"refill_id": 1, "status": "pending", "raw_status": "pending"},
            "7": {"refill_id": 7, "error": "Refill not found"},
        }
        panel.advance(60)
        code, out, err = await run(capsys, *base, "refill-status", "1")
        assert (code, err) == (0, "")
        assert out.splitlines()[2].split() == ["1", "completed"]
        code, out, _ = await run(capsys, *base, "refill", good, "--json")
        assert code == 0
        assert json.loads(out) == {good: {"order_id": int(good), "refill_id": 2}}


def test_refill_status_refuses_a_bad_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--api-key", API_KEY, "refill-status", "abc"])
    assert exited.value.code == 2
    assert "abc" in capsys.readouterr().err
