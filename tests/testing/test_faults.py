"""Fault injection: each kind, rate and times, action filters, reproducibility."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import msgspec
import pytest

from toplist_async.testing import FakePanel, Fault, parse_faults

from .conftest import KEY, Api, Serve


async def _until_logged(panel: FakePanel, count: int) -> None:
    # A request cut short on the client side is logged when the server notices.
    for _ in range(200):
        if len(panel.requests) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {len(panel.requests)} requests logged")


async def test_times_then_normal(serve: Serve) -> None:
    """`times` injects on exactly the next N matching requests."""
    panel, api = await serve()
    panel.faults.add("server_error", times=2, status=502)
    statuses = [(await api.call("balance")).status for _ in range(4)]
    assert statuses == [502, 502, 200, 200]
    assert len(panel.faults) == 0
    assert [r.fault for r in panel.requests] == ["server_error"] * 2 + [None] * 2


async def test_server_error_is_an_html_page(serve: Serve) -> None:
    """A server error is HTML, 500/502/503 unless a status is given."""
    panel, api = await serve()
    panel.faults.add("server_error")
    answers = [await api.call("services") for _ in range(12)]
    assert {a.status for a in answers} <= {500, 502, 503}
    assert len({a.status for a in answers}) > 1
    assert all(a.headers["Content-Type"].startswith("text/html") for a in answers)
    assert all(a.body is None and b"<html>" in a.raw for a in answers)
    assert b"nginx" in answers[0].raw


async def test_action_filter(serve: Serve) -> None:
    """A rule with an action leaves other actions alone."""
    panel, api = await serve()
    panel.faults.add("empty", action="status")
    order_id = await api.add()
    assert (await api.call("balance")).status == 200
    answer = await api.call("status", orders=str(order_id))
    assert (answer.status, answer.raw) == (200, b"")
    assert panel.count("status") == 1


async def test_rate_limit_fault(serve: Serve) -> None:
    """rate_limit answers 429 with Retry-After and Laravel's body."""
    panel, api = await serve()
    panel.faults.add("rate_limit", times=1, retry_after=7)
    answer = await api.call("balance")
    assert (answer.status, answer.body) == (429, {"message": "Too Many Attempts."})
    assert answer.headers["Retry-After"] == "7"
    assert (await api.call("balance")).status == 200


async def test_latency_delays_a_normal_answer(serve: Serve) -> None:
    """latency waits, then answers as usual."""
    panel, api = await serve()
    panel.faults.add("latency", seconds=0.05)
    started = time.monotonic()
    answer = await api.call("balance")
    assert time.monotonic() - started >= 0.05
    assert answer.body == {"balance": 1000, "currency": "USD"}


async def test_truncated_body_is_half_the_real_one(serve: Serve) -> None:
    """truncated sends the first half of the real JSON, with 200."""
    panel, api = await serve()
    whole = (await api.call("services")).raw
    panel.faults.add("truncated", times=1)
    answer = await api.call("services")
    assert answer.status == 200
    assert answer.raw == whole[: len(whole) // 2]
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(answer.raw)


async def test_html_200_is_a_challenge_page(serve: Serve) -> None:
    """html_200 is a 200 HTML "Just a moment..." page instead of JSON."""
    panel, api = await serve()
    panel.faults.add("html_200", times=1)
    answer = await api.call("balance")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    assert b"<title>Just a moment...</title>" in answer.raw


async def test_reset_drops_the_connection_before_the_action(serve: Serve) -> None:
    """reset cuts the connection with no answer; an add is not placed."""
    panel, api = await serve()
    panel.faults.add("reset", times=1, action="add")
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.call("add", service=1, link="x", quantity=10)
    assert len(panel.orders) == 0
    assert panel.requests[-1].status is None
    assert panel.requests[-1].fault == "reset"
    assert await api.add() == 1


async def test_slow_outlasts_the_client_timeout(serve: Serve) -> None:
    """slow holds the answer; a client that gives up first placed no order."""
    panel, api = await serve()
    panel.faults.add("slow", times=1, seconds=30)
    with pytest.raises(asyncio.TimeoutError):
        await api.call("add", service=1, link="x", quantity=10, timeout=0.2)
    await _until_logged(panel, 1)
    assert panel.requests[0].fault == "slow"
    assert panel.requests[0].status is None
    assert len(panel.orders) == 0
    assert (await api.call("balance")).status == 200


async def test_add_lost_places_the_order_then_resets(serve: Serve) -> None:
    """add_lost charges the order but the client only sees a disconnect."""
    panel, api = await serve()
    panel.faults.add("add_lost", times=1)
    assert (await api.call("balance")).status == 200  # only add matches
    with pytest.raises(aiohttp.ClientConnectionError):
        await api.call("add", service=1, link="x", quantity=100)
    assert panel.count("add") == 1
    assert list(panel.orders) == [1]
    assert panel.balance(KEY) == 999
    record = panel.requests[-1]
    assert (record.action, record.orders, record.status, record.fault) == (
        "add",
        (1,),
        None,
        "add_lost",
    )
    assert panel.reconcile(KEY)


@pytest.mark.parametrize("then", ["server_error", "slow"])
async def test_add_lost_other_endings(serve: Serve, then: str) -> None:
    """add_lost can also end in a server error or a wait past the timeout."""
    panel, api = await serve()
    panel.faults.add("add_lost", times=1, then=then, seconds=30)
    if then == "slow":
        with pytest.raises(asyncio.TimeoutError):
            await api.call("add", service=1, link="x", quantity=100, timeout=0.2)
        await _until_logged(panel, 1)
    else:
        answer = await api.call("add", service=1, link="x", quantity=100)
        assert answer.status in (500, 502, 503)
        assert answer.body is None
    assert panel.orders[1].charge == 1
    assert panel.balance(KEY) == 999


async def _fault_pattern(api: Api, panel: FakePanel, requests: int) -> list[bool]:
    for _ in range(requests):
        await api.call("balance")
    return [record.fault is not None for record in panel.requests]


async def test_rate_is_seeded_and_reproducible(serve: Serve) -> None:
    """The same seed injects on the same requests; another seed differs."""
    spec = "empty:0.3"
    panel_a, api_a = await serve(seed=11, faults=spec)
    panel_b, api_b = await serve(seed=11, faults=parse_faults(spec))
    panel_c, api_c = await serve(seed=12, faults=spec)
    a = await _fault_pattern(api_a, panel_a, 40)
    b = await _fault_pattern(api_b, panel_b, 40)
    c = await _fault_pattern(api_c, panel_c, 40)
    assert a == b
    assert a != c
    assert 4 <= sum(a) <= 24


async def test_clear_and_rate_zero(serve: Serve) -> None:
    """clear() removes every rule; rate 0 never fires, rate 1 always."""
    panel, api = await serve(faults="empty:0,html_200:1")
    assert (await api.call("balance")).headers["Content-Type"].startswith("text/html")
    panel.faults.clear()
    assert list(panel.faults) == []
    assert (await api.call("balance")).status == 200


def test_parse_faults_grammar() -> None:
    """A spec lists rules with a bare rate or name=value fields."""
    spec = "server_error:0.2, reset:0.05,rate_limit:0.1:retry_after=1,add_lost:times=1"
    assert parse_faults(spec) == [
        Fault(kind="server_error", rate=0.2),
        Fault(kind="reset", rate=0.05),
        Fault(kind="rate_limit", rate=0.1, retry_after=1),
        Fault(kind="add_lost", times=1, action="add", then="reset", seconds=60.0),
    ]
    latency = parse_faults("latency:action=status:seconds=0.5")[0]
    assert (latency.action, latency.seconds, latency.rate, latency.times) == (
        "status",
        0.5,
        None,
        None,
    )
    assert parse_faults("  ") == []


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("explode:0.1", "unknown fault kind 'explode'"),
        ("reset:2", "rate must be between 0 and 1"),
        ("reset:lots", "rate='lots' is not a valid rate"),
        ("reset:0.1:times=2", "rate or times, not both"),
        ("reset:times=0", "times must be at least 1"),
        ("reset:speed=1", "unknown field 'speed'"),
        ("reset:seconds=1", "reset takes no 'seconds'"),
        ("latency:0.1:0.2", "'rate' given twice"),
        ("add_lost:action=status", "add_lost only applies to add"),
        ("add_lost:then=explode", "then must be one of"),
        ("server_error:status=404", "status must be a 5xx code"),
        ("latency:action=refill", "unknown action 'refill'"),
        ("reset:0.1,,empty", "bad fault ''"),
    ],
)
def test_parse_faults_rejects_bad_specs(spec: str, complaint: str) -> None:
    """A bad spec raises ValueError naming the rule and the problem."""
    with pytest.raises(ValueError, match="bad fault") as caught:
        parse_faults(spec)
    assert complaint in str(caught.value)


def test_faults_add_validates() -> None:
    """panel.faults.add() checks its arguments like the parser does."""
    panel = FakePanel()
    with pytest.raises(ValueError, match="latency takes no 'status'"):
        panel.faults.add("latency", status=500)
    fault = panel.faults.add("latency", rate=0.5)
    assert (fault.seconds, list(panel.faults)) == (0.2, [fault])
