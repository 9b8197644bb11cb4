"""FakePanel's `refill` and `refill_status`, on the wire and through the client."""

from __future__ import annotations

import pytest

from toplist_async import (
    OrderError,
    RefillError,
    RefillResult,
    RefillState,
    RefillStatus,
    ToplistClient,
)

from .conftest import KEY, Serve

REFILLABLE = 3  # DEFAULT_SERVICES: "Premium votes", refill=True
NOT_REFILLABLE = 1


async def test_refill_lifecycle_through_the_client(serve: Serve) -> None:
    """A completed order of a refillable service is refilled once at a time; the
    refill goes pending, in progress, completed on the panel's clock."""
    panel, api = await serve()
    order = await api.add(service=REFILLABLE, quantity=100)
    panel.advance(60)
    async with ToplistClient(KEY, base_url=panel.base_url, max_retries=0) as client:
        result = await client.refill(order)
        assert result == RefillResult(order_id=order, refill_id=1)
        with pytest.raises(OrderError) as caught:
            await client.refill(order)
        assert "already in progress" in caught.value.message
        seen = [await client.refill_status(result.refill_id)]
        panel.advance(10)
        seen.append(await client.refill_status(result.refill_id))
        panel.advance(60)
        seen.append(await client.refill_status(result.refill_id))
        again = await client.refill(order)
        stats = client.stats
    assert [s.status for s in seen] == [
        RefillState.PENDING,
        RefillState.IN_PROGRESS,
        RefillState.COMPLETED,
    ]
    assert again.refill_id == 2
    assert stats.requests == {"refill": 3, "refill_status": 3}
    assert panel.count("refill") == 3


async def test_refill_refusals_are_realistic(serve: Serve) -> None:
    panel, api = await serve()
    running = await api.add(service=REFILLABLE, quantity=100)
    panel.advance(60)
    plain = await api.add(service=NOT_REFILLABLE, quantity=100)
    panel.advance(60)
    fresh = await api.add(service=REFILLABLE, quantity=100)
    canceled = await api.add(service=REFILLABLE, quantity=100)
    await api.call("cancel", orders=str(canceled))
    async with ToplistClient(KEY, base_url=panel.base_url, max_retries=0) as client:
        outcomes = await client.refill_many([running, plain, fresh, canceled, 999])
        statuses = await client.refill_status_many([1, 77])
    assert isinstance(outcomes[running], RefillResult)
    messages = {
        order: outcome.message
        for order, outcome in outcomes.items()
        if isinstance(outcome, OrderError)
    }
    assert messages == {
        plain: "Refill is disabled for this service",
        fresh: "Order not eligible for refill.",
        canceled: "Order not eligible for refill.",
        999: "Incorrect order ID",
    }
    assert isinstance(statuses[1], RefillStatus)
    missing = statuses[77]
    assert isinstance(missing, RefillError)
    assert missing.message == "Refill not found"


async def test_lone_ids_get_the_flat_answers(serve: Serve) -> None:
    """`order=` and `refill=` get `{"refill": id}` and `{"status": ...}`."""
    panel, api = await serve(status_style="perfectpanel", numbers_as_strings=True)
    order = await api.add(service=REFILLABLE, quantity=100)
    panel.advance(60)
    refill = await api.call("refill", order=order)
    assert refill.body == {"refill": "1"}
    status = await api.call("refill_status", refill=1)
    assert status.body == {"status": "Pending"}
    many = await api.call("refill_status", refills="1,5")
    assert many.body == [
        {"refill": "1", "status": "Pending"},
        {"refill": "5", "status": {"error": "Refill not found"}},
    ]
    refused = await api.call("refill", order=order)
    assert refused.status == 400
    assert refused.body == {"error": "A refill of this order is already in progress"}
