"""`toplist demo`: the SDK end to end against its embedded fake panel, at small size."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from toplist_async.cli import _demo, _screen
from toplist_async.cli._demo import DemoReport, run_demo
from toplist_async.testing import DEFAULT_SERVICES

ORDERS = 30
BUDGET = 15.0  # seconds; the demo at this size takes a few
# The demo orders from the first service that can be cancelled, at most 5000 units.
SERVICE = next(s for s in DEFAULT_SERVICES if s.cancel)
MOST_AN_ORDER_COSTS = SERVICE.rate * min(SERVICE.max, 5000) / 1000
LINES = [
    "toplist demo: a local FakePanel on 127.0.0.1, no account, no network",
    "faults injected",
    "orders placed",
    "cancels accepted",
    "final states",
    "status() awaits",
    "status HTTP requests",
    "all HTTP requests",
    "retries",
    "errors surfaced",
    "money spent",
    "money refunded",
    "balance",
    "wall time",
]


@pytest.fixture
def fast_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the demo's panel clock 10x faster, and poll 10x more often."""
    monkeypatch.setattr(_demo, "_SPEED", _demo._SPEED * 10)
    monkeypatch.setattr(_demo, "_POLL_EVERY", _demo._POLL_EVERY / 10)


async def _report(*, faults: bool) -> dict[str, Any]:
    out = io.StringIO()
    code = await run_demo(orders=ORDERS, seed=7, faults=faults, as_json=True, out=out)
    assert code == 0
    text = out.getvalue()
    assert text.endswith("}\n")
    report: dict[str, Any] = json.loads(text)
    return report


@pytest.mark.usefixtures("fast_orders")
@pytest.mark.parametrize("faults", [True, False], ids=["faults", "no-faults"])
async def test_demo_report_is_consistent(
    capsys: pytest.CaptureFixture[str], sleeps: list[float], faults: bool
) -> None:
    """Every placed order ends final, batching happened, and the money adds up."""
    report = await _report(faults=faults)
    assert set(report) == set(DemoReport.__struct_fields__)
    assert report["wall_time"] < BUDGET
    # Every order asked for was placed or is known to be in doubt, none lost.
    assert report["orders_placed"] + report["outcome_unknown"] == ORDERS
    assert report["outcome_unknown"] == (1 if faults else 0)  # add_lost, times=1
    # An order in doubt is an error surfaced, never hidden among the placed.
    surfaced = report["errors_handled"].get("OrderOutcomeUnknown", 0)
    assert surfaced == report["outcome_unknown"]
    # Every placed order was followed to a final state.
    assert sum(report["final_states"].values()) == report["orders_placed"]
    assert set(report["final_states"]) <= {"completed", "partial", "canceled"}
    assert "OrderError" not in report["errors_handled"]
    # status() calls were merged into fewer requests.
    status_requests = report["requests"]["status"]
    assert report["status_awaits"] >= report["orders_placed"]
    assert report["status_awaits"] > status_requests >= 1
    assert report["requests"]["cancel"] == 1
    assert 0 < report["cancels_accepted"] <= report["orders_placed"]
    # Money is exact: strings in JSON, Decimal arithmetic.
    money = {
        name: Decimal(report[name])
        for name in ("money_spent", "money_refunded", "balance_before", "balance_after")
        if isinstance(report[name], str)
    }
    assert len(money) == 4, "money must be written as strings"
    assert money["balance_before"] == Decimal(1_000_000)
    assert money["money_refunded"] > 0
    # The balance dropped by what the finished orders cost, plus what the order
    # whose answer was lost cost (it exists and was charged).
    lost_order_cost = (
        money["balance_before"] - money["balance_after"] - money["money_spent"]
    )
    if faults:
        assert 0 < lost_order_cost <= MOST_AN_ORDER_COSTS
        assert report["retries"] >= 2  # at least the two 429s
        assert report["rate_limit_pauses"] >= 1
        assert len(sleeps) >= report["retries"]
    else:
        assert lost_order_cost == 0
        assert report["requests"]["add"] == ORDERS
        assert (report["retries"], report["rate_limit_pauses"]) == (0, 0)
        assert report["errors_handled"] == {}
        assert sleeps == []
    assert capsys.readouterr().err == ""  # no progress bar when not on a terminal


@pytest.mark.usefixtures("fast_orders")
async def test_demo_lets_most_orders_run_to_completion() -> None:
    """At small size the demo cancels a sample: most orders complete and cost money."""
    report = await _report(faults=False)
    assert report["cancels_accepted"] < report["orders_placed"] // 2
    assert report["final_states"].get("completed", 0) > 0
    assert Decimal(report["money_spent"]) > 0


async def test_demo_text_report(capsys: pytest.CaptureFixture[str]) -> None:
    """The report for people has every line, and its numbers agree with each other."""
    out = io.StringIO()
    assert await run_demo(orders=ORDERS, out=out) == 0
    text = out.getvalue()
    report, counts = text.split("\n\n")
    lines = report.splitlines()
    assert len(lines) == len(LINES)
    for line, label in zip(lines, LINES, strict=True):
        assert line.strip().startswith(label), (line, label)
    assert "5xx, HTML pages, resets, 429 bursts, a lost add" in lines[1]
    placed = re.search(r"orders placed +(\d+) \(\+(\d+) whose answer was lost", text)
    assert placed is not None
    assert int(placed[1]) + int(placed[2]) == ORDERS
    states = re.search(r"final states +(.*)", text)
    assert states is not None
    counted = sum(int(n) for n in re.findall(r"\w+ (\d+)", states[1]))
    assert counted == int(placed[1])
    balance = re.search(r"balance +(\S+) -> (\S+)", text)
    assert balance is not None
    assert Decimal(balance[1]) > Decimal(balance[2])
    wall = re.search(r"wall time +([\d.]+) s", text)
    assert wall is not None
    assert float(wall[1]) < BUDGET
    # Requests per action as a table, adding up to the total above.
    head, dashes, *rows = counts.splitlines()
    assert head.split() == ["action", "requests"]
    assert set(dashes) <= {"-", " "}
    per_action = {name: int(count) for name, count in map(str.split, rows)}
    assert {"add", "balance", "cancel", "services", "status"} <= set(per_action)
    total = re.search(r"all HTTP requests +(\d+)", text)
    assert total is not None
    assert sum(per_action.values()) == int(total[1])
    assert capsys.readouterr() == ("", "")  # it wrote to `out` only


def test_demo_command_prints_json() -> None:
    """`toplist demo --orders 20 --json` exits 0 and prints one DemoReport as JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPLIST_")}
    done = subprocess.run(
        [sys.executable, "-m", "toplist_async", "demo", "--orders", "20", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    report = msgspec.json.decode(done.stdout, type=DemoReport)
    assert json.loads(done.stdout)["orders_placed"] == report.orders_placed
    assert report.orders_placed + report.outcome_unknown == 20
    assert sum(report.final_states.values()) == report.orders_placed


@pytest.mark.usefixtures("fast_orders")
async def test_demo_shows_its_429_waits_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's first requests meet 429s: a terminal sees the wait, not a blank."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(_screen, "rich_module", lambda: None)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert await run_demo(orders=5, as_json=True, out=io.StringIO()) == 0
    assert "balance: retrying in 1.0 s after HTTP 429" in terminal.getvalue()
