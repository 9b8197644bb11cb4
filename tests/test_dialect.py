"""`Dialect`: telling the client how a panel of the family spells its requests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    AuthenticationError,
    BadRequestError,
    Dialect,
    OrderState,
    RefillState,
    ToplistClient,
)
from toplist_async.testing import FakePanel

ORDER_MULTISTATUS = Dialect(
    one_id_fields={"status": "order"}, many_actions={"status": "multistatus"}
)


async def flask_like(request: web.Request, body: dict[str, Any]) -> web.Response:
    """The Flask panel: `status` with `order=`, several only under `multistatus`."""
    if body.get("action") == "status" and body.get("order"):
        return web.json_response({"status": "Completed", "charge": "1", "remains": 0})
    if body.get("action") == "multistatus" and body.get("orders"):
        ids = body["orders"].split(",")
        return web.json_response({i: {"status": "Pending", "remains": 5} for i in ids})
    if body.get("action") == "add":
        return web.json_response({"order": 12})
    if body.get("action") == "refill_status" and body.get("refill"):
        return web.json_response({"status": "Completed"})
    return web.json_response({"error": "order id(s) required"})


def client_for(scripted: ScriptedPanel, dialect: Dialect) -> ToplistClient:
    scripted.handler = flask_like
    return ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=0, dialect=dialect
    )


async def test_default_dialect_is_toplistbots(scripted: ScriptedPanel) -> None:
    """Without a dialect a lone status goes as `orders=` under `status`, key `key`."""
    async with client_for(scripted, Dialect()) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.status(5)
    assert caught.value.message == "order id(s) required"
    assert scripted.received == [{"action": "status", "orders": "5", "key": API_KEY}]


async def test_one_id_field(scripted: ScriptedPanel) -> None:
    dialect = Dialect(one_id_fields={"status": "order"})
    async with client_for(scripted, dialect) as client:
        status = await client.status(5)
    assert status.status is OrderState.COMPLETED
    assert scripted.received == [{"action": "status", "order": "5", "key": API_KEY}]


async def test_many_action(scripted: ScriptedPanel) -> None:
    """Several ids go under the many-ids action; one id too, when it has no field."""
    dialect = Dialect(many_actions={"status": "multistatus"})
    async with client_for(scripted, dialect) as client:
        many = await client.status_many([1, 2])
        one = await client.status(3)
    assert [getattr(s, "status", s) for s in many.values()] == [OrderState.PENDING] * 2
    assert one.remains == 5
    assert scripted.received == [
        {"action": "multistatus", "orders": "1,2", "key": API_KEY},
        {"action": "multistatus", "orders": "3", "key": API_KEY},
    ]


async def test_order_and_multistatus_together(scripted: ScriptedPanel) -> None:
    async with client_for(scripted, ORDER_MULTISTATUS) as client:
        one = await client.status(5)
        many = await asyncio.gather(*(client.status(i) for i in range(1, 51)))
    assert one.status is OrderState.COMPLETED
    assert len(many) == 50
    assert [body["action"] for body in scripted.received] == ["status", "multistatus"]
    assert scripted.received[1]["orders"] == ",".join(map(str, range(1, 51)))


async def test_key_field(scripted: ScriptedPanel) -> None:
    async with client_for(scripted, Dialect(key_field="api_token")) as client:
        assert await client.add(service=1, link="https://x.test/p", quantity=10) == 12
    [body] = scripted.received
    assert body["api_token"] == API_KEY
    assert "key" not in body


async def test_renamed_action(scripted: ScriptedPanel) -> None:
    dialect = Dialect(actions={"add": "order_add"})

    async def handler(request: web.Request, body: dict[str, Any]) -> web.Response:
        if body.get("action") == "order_add":
            return web.json_response({"order": 31})
        return web.json_response({"error": "Invalid action"})

    scripted.handler = handler
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, dialect=dialect
    ) as client:
        assert await client.add(service=1, link="https://x.test/p", quantity=10) == 31


async def test_one_refill_id_field(scripted: ScriptedPanel) -> None:
    dialect = Dialect(one_id_fields={"refill_status": "refill"})
    async with client_for(scripted, dialect) as client:
        status = await client.refill_status(42)
    assert status.status is RefillState.COMPLETED
    assert scripted.received[0]["refill"] == "42"
    assert "refills" not in scripted.received[0]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param({"key_field": ""}, ValueError, id="empty-key-field"),
        pytest.param({"key_field": "action"}, ValueError, id="key-field-action"),
        pytest.param({"actions": {"sell": "x"}}, ValueError, id="unknown-action"),
        pytest.param({"actions": {"add": ""}}, ValueError, id="empty-name"),
        pytest.param({"many_actions": {"add": "x"}}, ValueError, id="add-not-batched"),
        pytest.param({"one_id_fields": {"status": 5}}, ValueError, id="not-a-string"),
        pytest.param({"one_id_fields": ["order"]}, TypeError, id="not-a-mapping"),
    ],
)
def test_bad_dialects_are_refused(options: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        Dialect(**options)


def test_a_dialect_cannot_be_changed_afterwards() -> None:
    names = {"status": "order"}
    dialect = Dialect(one_id_fields=names)
    names["status"] = "id"
    assert dialect.one_id_fields == {"status": "order"}
    with pytest.raises(TypeError):
        dialect.one_id_fields["status"] = "id"  # type: ignore[index]


async def test_a_field_no_form_can_carry_is_refused_before_sending(
    scripted: ScriptedPanel,
) -> None:
    """Form encoding would send an object's repr: it is refused instead."""
    async with client_for(scripted, Dialect()) as client:
        with pytest.raises(TypeError, match="'extra'"):
            await client.add(service=1, link="https://x.test/p", extra=object())
        with pytest.raises(TypeError):
            await client.add(service=1, link="https://x.test/p", tags=[{"a": 1}])
    assert scripted.received == []


# --- FakePanel speaks them too -------------------------------------------------


async def test_form_only_panel_with_json_blames_the_key_but_form_works() -> None:
    """A PHP panel reading only `$_POST` never sees a JSON body's key; the default
    form encoding gets through."""
    panel = FakePanel(form_only=True, speed=0)
    async with panel as url:
        async with ToplistClient(
            API_KEY, base_url=url, encoding="json", max_retries=0
        ) as client:
            with pytest.raises(AuthenticationError):
                await client.balance()
        async with ToplistClient(API_KEY, base_url=url, max_retries=0) as client:
            order = await client.add(service=3, link="https://x.test/p", quantity=100)
            panel.advance(60)
            assert (await client.status(order)).is_final
            refill = await client.refill(order)
            assert (await client.refill_status(refill.refill_id)).refill_id == 1


async def test_fake_panel_speaks_order_and_multistatus() -> None:
    panel = FakePanel(dialect=ORDER_MULTISTATUS, speed=0)
    async with panel as url:
        async with ToplistClient(API_KEY, base_url=url, max_retries=0) as plain:
            order = await plain.add(service=1, link="https://x.test/p", quantity=100)
            with pytest.raises(BadRequestError) as caught:
                await plain.status(order)
        assert caught.value.message == "order id(s) required"
        async with ToplistClient(
            API_KEY, base_url=url, max_retries=0, dialect=ORDER_MULTISTATUS
        ) as client:
            one = await client.status(order)
            many = await asyncio.gather(*(client.status(order) for _ in range(3)))
            both = await client.status_many([order, 999])
    assert one.order_id == order
    assert all(s.order_id == order for s in many)
    assert set(both) == {order, 999}
    assert [r.action for r in panel.requests[-3:]] == ["status", "status", "status"]


async def test_fake_panel_reads_the_key_field() -> None:
    dialect = Dialect(key_field="api_token")
    panel = FakePanel(api_key=API_KEY, dialect=dialect, speed=0)
    async with panel as url:
        async with ToplistClient(API_KEY, base_url=url, max_retries=0) as plain:
            with pytest.raises(AuthenticationError):
                await plain.balance()
        async with ToplistClient(
            API_KEY, base_url=url, max_retries=0, dialect=dialect
        ) as client:
            assert (await client.balance()).currency == "USD"
