"""Orders on the simulated clock, and money that always reconciles."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from toplist_async.testing import FakePanel

from .conftest import KEY, Serve

RATE = Decimal("10.0")  # service 1, per 1000


async def test_order_moves_pending_in_progress_completed(serve: Serve) -> None:
    """Pending 5 s, then 50 units a second, then completed with remains 0."""
    panel, api = await serve(partial_rate=0.0)
    order_id = await api.add(quantity=100)

    async def status() -> dict[str, object]:
        body = (await api.call("status", orders=str(order_id))).body
        return dict(body[str(order_id)])

    pending = await status()
    assert (pending["status"], pending["start_count"], pending["remains"]) == (
        "pending",
        0,
        100,
    )
    panel.advance(4.9)
    assert (await status())["status"] == "pending"
    panel.advance(0.1 + 1.0)
    running = await status()
    assert (running["status"], running["remains"]) == ("in progress", 50)
    start_count = running["start_count"]
    assert isinstance(start_count, int)
    assert start_count > 0
    panel.advance(1.0)
    done = await status()
    assert done == {
        "charge": Decimal("1.0"),
        "start_count": start_count,
        "status": "completed",
        "remains": 0,
        "currency": "USD",
    }
    assert panel.orders[order_id].status == "completed"


async def test_interval_stretches_delivery(serve: Serve) -> None:
    """A drip-feed interval (minutes) spreads delivery over more time."""
    panel, api = await serve(partial_rate=0.0)
    plain = await api.add(quantity=100)
    dripped = await api.add(quantity=100, interval=1)
    panel.advance(5 + 2)
    assert panel.orders[plain].status == "completed"
    assert panel.orders[dripped].status == "in progress"
    panel.advance(60)
    assert panel.orders[dripped].status == "completed"


async def test_partial_order_is_refunded_when_it_ends(serve: Serve) -> None:
    """A partial order charges only what it delivered and refunds the rest."""
    panel, api = await serve(partial_rate=1.0)
    order_id = await api.add(quantity=1000)
    assert panel.balance(KEY) == Decimal("1000") - Decimal("10.000")
    panel.advance(5 + 20)  # past the full delivery time
    body = (await api.call("status", orders=str(order_id))).body[str(order_id)]
    assert body["status"] == "partial"
    delivered = 1000 - body["remains"]
    assert 0 < delivered < 1000
    assert body["charge"] == RATE * delivered / 1000
    balance = (await api.call("balance")).body["balance"]
    assert balance == Decimal("1000") - body["charge"]
    assert panel.reconcile(KEY)


async def test_progress_is_consistent_at_every_step(serve: Serve) -> None:
    """remains never grows, statuses only move forward, charge matches delivery."""
    panel, api = await serve(partial_rate=0.5, seed=3)
    ids = [await api.add(quantity=q) for q in (10, 99, 250, 500, 1000, 2000)]
    order = ["pending", "in progress", "completed", "partial"]
    last = {i: (0, 10**9) for i in ids}
    for _ in range(60):
        panel.advance(0.75)
        body = (await api.call("status", orders=",".join(map(str, ids)))).body
        for order_id in ids:
            item = body[str(order_id)]
            quantity = panel.orders[order_id].quantity
            rank, last_rank = order.index(item["status"]), last[order_id][0]
            # Completed and partial are final; the rest only moves forward.
            assert rank == last_rank if last_rank >= 2 else rank >= last_rank
            assert 0 <= item["remains"] <= last[order_id][1]
            if item["status"] == "partial":
                delivered = quantity - item["remains"]
                assert item["charge"] == RATE * delivered / 1000
                assert 0 < item["remains"] < quantity
            else:
                assert item["charge"] == RATE * quantity / 1000
            if item["status"] == "completed":
                assert item["remains"] == 0
            last[order_id] = (rank, item["remains"])
        assert panel.reconcile(KEY)
    finals = {panel.orders[i].status for i in ids}
    assert finals == {"completed", "partial"}


async def test_cancel_pending_refunds_everything(serve: Serve) -> None:
    """A pending order cancels to `canceled`, charge 0, full refund."""
    panel, api = await serve()
    order_id = await api.add(quantity=500)
    answer = await api.call("cancel", orders=str(order_id))
    assert answer.body == [
        {"order": str(order_id), "cancel": 1, "refund": Decimal("5.0")}
    ]
    order = panel.orders[order_id]
    assert (order.status, order.charge, order.remains) == ("canceled", Decimal(0), 500)
    assert panel.balance(KEY) == Decimal("1000")
    again = await api.call("cancel", orders=str(order_id))
    assert again.body[0]["cancel"] == {"error": "Order already canceled"}
    assert panel.reconcile(KEY)


async def test_cancel_in_progress_ends_partial(serve: Serve) -> None:
    """An order cancelled mid-delivery keeps what it delivered, as partial."""
    panel, api = await serve(partial_rate=0.0)
    order_id = await api.add(quantity=1000)
    panel.advance(5 + 4)  # 200 delivered
    answer = await api.call("cancel", orders=str(order_id))
    assert answer.body[0]["refund"] == RATE * 800 / 1000
    panel.advance(100)
    body = (await api.call("status", orders=str(order_id))).body[str(order_id)]
    assert (body["status"], body["remains"], body["charge"]) == (
        "partial",
        800,
        RATE * 200 / 1000,
    )
    assert panel.balance(KEY) == Decimal("1000") - RATE * 200 / 1000
    again = await api.call("cancel", orders=str(order_id))
    assert again.body[0]["cancel"] == {"error": "Order already canceled"}


async def test_cancel_refusals(serve: Serve) -> None:
    """Completed, no-cancel, unknown and other accounts' orders are not cancelled."""
    panel, api = await serve(partial_rate=0.0)
    done = await api.add(quantity=10)
    stubborn = await api.add(service=2, quantity=1000)
    other = await api.call("add", key="someone-else", service=1, link="x", quantity=10)
    theirs = int(other.body["order_id"])
    panel.advance(6)
    answer = await api.call("cancel", orders=f"{done},{stubborn},{theirs},0,x")
    errors = [item["cancel"]["error"] for item in answer.body]
    assert errors == [
        "Order already completed and cannot be canceled",
        "This service does not support cancel",
        "Incorrect order ID",
        "Incorrect order ID",
        "Incorrect order ID",
    ]
    assert panel.orders[theirs].status == "completed"
    assert panel.orders[stubborn].status == "in progress"
    assert panel.reconcile()


async def test_not_enough_funds_and_exact_balance(serve: Serve) -> None:
    """An order may spend the balance to zero, not beyond."""
    panel, api = await serve(balance=Decimal("1"))
    await api.add(quantity=100)  # costs exactly 1.0
    answer = await api.call("add", service=1, link="x", quantity=10)
    assert (answer.status, answer.body) == (400, {"error": "Not enough funds"})
    panel.fund(KEY, Decimal("0.1"))
    await api.add(quantity=10)
    assert panel.balance(KEY) == 0
    assert panel.reconcile(KEY)


async def test_reconcile_notices_money_that_went_missing(serve: Serve) -> None:
    """reconcile() is a real check: a balance off by a cent fails it."""
    panel, api = await serve()
    await api.add()
    assert panel.reconcile(KEY)
    account = panel._state.account(KEY)
    assert account is not None
    account.balance -= Decimal("0.01")
    assert not panel.reconcile(KEY)
    assert not panel.reconcile()


async def test_seeded_orders_belong_to_the_seed_key(serve: Serve) -> None:
    """seed_orders pre-creates paid orders 1..N on "test-key"."""
    panel, api = await serve(seed_orders=150)
    assert list(panel.orders) == list(range(1, 151))
    answer = await api.call("status", key="test-key", orders="1,2,150")
    assert set(answer.body) == {"1", "2", "150"}
    assert all("status" in item for item in answer.body.values())
    assert {panel.orders[i].account for i in (1, 75, 150)} == {
        panel.account_id("test-key")
    }
    statuses = {order.status for order in panel.orders.values()}
    assert {"pending", "in progress", "completed"} <= statuses
    assert panel.reconcile("test-key")
    assert (await api.call("add", service=1, link="x", quantity=10)).body == {
        "order_id": 151
    }


async def test_clock_runs_at_speed() -> None:
    """With speed the simulated clock follows real time; advance() adds to it."""
    panel = FakePanel(speed=1000.0)
    before = panel.clock
    await asyncio.sleep(0.02)
    assert panel.clock - before >= 20
    frozen = FakePanel(speed=0.0)
    frozen.advance(12.5)
    assert frozen.clock == 12.5
    with pytest.raises(ValueError, match="forward"):
        frozen.advance(-1)
