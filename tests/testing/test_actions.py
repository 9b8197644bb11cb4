"""Every action's happy path and answer shape, in each dialect."""

from __future__ import annotations

from decimal import Decimal

import pytest

from toplist_async.testing import DEFAULT_SERVICES, Service

from .conftest import KEY, Serve


async def test_services_lists_the_catalogue_as_json_numbers(serve: Serve) -> None:
    """`services` answers the document's shape, numbers as JSON numbers."""
    _, api = await serve()
    answer = await api.call("services")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.body[0] == {
        "service": 1,
        "name": "Votes",
        "type": "Default",
        "category": "Votes",
        "rate": Decimal("10.0"),
        "min": 10,
        "max": 50000,
        "refill": False,
        "cancel": True,
    }
    assert [s["service"] for s in answer.body] == [s.service for s in DEFAULT_SERVICES]
    assert any(s["cancel"] is False for s in answer.body)
    assert b'"rate":0.27819' in answer.raw


async def test_services_as_strings_keeps_booleans(serve: Serve) -> None:
    """With numbers_as_strings every number is a string; flags stay booleans."""
    _, api = await serve(numbers_as_strings=True)
    answer = await api.call("services")
    second = answer.body[1]
    assert second["service"] == "2"
    assert second["rate"] == "0.27819"
    assert (second["min"], second["max"]) == ("100", "100000")
    assert second["cancel"] is False


async def test_custom_services_are_served(serve: Serve) -> None:
    """A caller's catalogue replaces the default one."""
    only = Service(service=77, name="Likes", rate=Decimal("0.5"), min=1, max=10)
    _, api = await serve(services=[only])
    answer = await api.call("services")
    assert [s["service"] for s in answer.body] == [77]
    assert (await api.call("add", service=1, link="x", quantity=5)).body == {
        "error": "Incorrect service ID"
    }


@pytest.mark.parametrize("strings", [False, True])
async def test_add_ids_increase_across_accounts(serve: Serve, strings: bool) -> None:
    """Order ids count up from 1 over all accounts; a string in the string dialect."""
    _, api = await serve(numbers_as_strings=strings)
    ids = []
    for key in ("alice", "bob", "alice"):
        answer = await api.call("add", key=key, service=1, link="x", quantity=10)
        ids.append(answer.body["order_id"])
    assert ids == (["1", "2", "3"] if strings else [1, 2, 3])


async def test_add_keeps_extra_fields_and_newlines(serve: Serve) -> None:
    """Extra SMM fields are stored on the order as sent, newlines included."""
    panel, api = await serve()
    comments = "first\nsecond\r\nthird"
    answer = await api.call(
        "add",
        form=True,
        service=4,
        link="https://example.com/post",
        quantity=3,
        comments=comments,
        answer_number=2,
        interval=5,
    )
    order = panel.orders[int(answer.body["order_id"])]
    assert order.extra == {"comments": comments, "answer_number": "2", "interval": "5"}
    assert (order.service, order.link, order.quantity) == (
        4,
        "https://example.com/post",
        3,
    )


@pytest.mark.parametrize("strings", [False, True])
async def test_status_shape_of_a_new_order(serve: Serve, strings: bool) -> None:
    """A new order is pending: start_count 0, nothing delivered, fully charged."""
    _, api = await serve(numbers_as_strings=strings)
    order_id = await api.add(service=2, quantity=1000)
    answer = await api.call("status", orders=str(order_id))
    expected: dict[str, object]
    if strings:
        expected = {"charge": "0.27819", "start_count": "0", "remains": "1000"}
    else:
        expected = {"charge": Decimal("0.27819"), "start_count": 0, "remains": 1000}
    assert answer.body == {
        str(order_id): {**expected, "status": "pending", "currency": "USD"}
    }


async def test_status_reports_unknown_ids_per_order(serve: Serve) -> None:
    """Unknown and malformed ids get an error entry; duplicates collapse."""
    _, api = await serve()
    order_id = await api.add()
    answer = await api.call("status", orders=f"{order_id}, 999,{order_id},abc")
    assert answer.status == 200
    assert list(answer.body) == [str(order_id), "999", "abc"]
    assert answer.body["999"] == {"error": "Incorrect order ID"}
    assert answer.body["abc"] == {"error": "Incorrect order ID"}
    assert answer.body[str(order_id)]["status"] == "pending"


async def test_status_of_a_single_order_is_flat(serve: Serve) -> None:
    """`order` (singular) gets the convention's flat answer."""
    _, api = await serve()
    order_id = await api.add()
    answer = await api.call("status", order=order_id)
    assert answer.body["status"] == "pending"
    assert answer.body["remains"] == 100
    missing = await api.call("status", order=404)
    assert (missing.status, missing.body) == (400, {"error": "Incorrect order ID"})


_SPELLED = {
    "document": {
        "pending": {"pending"},
        "in progress": {"in progress"},
        "completed": {"completed"},
        "partial": {"partial"},
        "canceled": {"canceled"},
    },
    "perfectpanel": {
        "pending": {"Pending"},
        "in progress": {"In progress"},
        "completed": {"Completed"},
        "partial": {"Partial"},
        "canceled": {"Canceled"},
    },
    "mixed": {
        "pending": {"Pending", "pending"},
        "in progress": {"In Progress", "in_progress", "In progress"},
        "completed": {"Complete", "Completed", "completed"},
        "partial": {"Partial", "partial"},
        "canceled": {"Cancelled", "Order Cancelled", "Canceled"},
    },
}


@pytest.mark.parametrize("style", ["document", "perfectpanel", "mixed"])
async def test_status_spellings(serve: Serve, style: str) -> None:
    """Each style spells each status its way, and an order keeps its spelling."""
    panel, api = await serve(status_style=style, partial_rate=0.0)
    completed = [await api.add(quantity=10) for _ in range(3)]
    panel.advance(6)  # pending 5 s, then 10 units take 0.2 s
    partial = [await api.add(quantity=100) for _ in range(3)]
    in_progress = [await api.add(quantity=10000) for _ in range(3)]
    panel.advance(6)  # 50 units delivered so far
    canceled = [await api.add(quantity=100) for _ in range(3)]
    pending = [await api.add(quantity=100) for _ in range(3)]
    await api.call("cancel", orders=",".join(map(str, canceled + partial)))
    wanted = {
        "completed": completed,
        "partial": partial,
        "canceled": canceled,
        "pending": pending,
        "in progress": in_progress,
    }
    everything = [i for ids in wanted.values() for i in ids]
    first = (await api.call("status", orders=",".join(map(str, everything)))).body
    again = (await api.call("status", orders=",".join(map(str, everything)))).body
    assert first == again
    for status, order_ids in wanted.items():
        spelled = {first[str(i)]["status"] for i in order_ids}
        assert {panel.orders[i].status for i in order_ids} == {status}
        assert spelled <= _SPELLED[style][status]
        if style == "mixed":
            assert len(spelled) > 1, status


@pytest.mark.parametrize("strings", [False, True])
async def test_balance_shape_and_debit(serve: Serve, strings: bool) -> None:
    """`balance` answers balance and currency, minus what orders cost."""
    _, api = await serve(numbers_as_strings=strings, currency="EUR")
    first = await api.call("balance")
    assert first.body == {"balance": "1000" if strings else 1000, "currency": "EUR"}
    await api.add(service=2, quantity=3572)  # 0.27819 * 3572 / 1000
    after = (await api.call("balance")).body["balance"]
    assert Decimal(after) == Decimal("1000") - Decimal("0.99369468")


@pytest.mark.parametrize("strings", [False, True])
async def test_cancel_shape(serve: Serve, strings: bool) -> None:
    """`cancel` answers one item per id: cancel 1 with a refund, or an error."""
    _, api = await serve(numbers_as_strings=strings)
    order_id = await api.add(quantity=100)
    answer = await api.call("cancel", orders=f"{order_id},31337")
    one = "1" if strings else 1
    refund = "1.0" if strings else Decimal("1.0")
    assert answer.body == [
        {"order": str(order_id), "cancel": one, "refund": refund},
        {"order": "31337", "cancel": {"error": "Incorrect order ID"}},
    ]


@pytest.mark.parametrize("form", [False, True])
@pytest.mark.parametrize("bearer", [False, True])
async def test_key_in_body_or_bearer_json_or_form(
    serve: Serve, form: bool, bearer: bool
) -> None:
    """The key works in the body or as a bearer token, in JSON or form bodies."""
    _, api = await serve()
    order_id = await api.add()
    answer = await api.call("status", orders=str(order_id), form=form, bearer=bearer)
    assert answer.status == 200
    assert answer.body[str(order_id)]["remains"] == 100
    assert await api.call(
        "balance", key=KEY, form=form, bearer=bearer
    ) == await api.call("balance")


async def test_json_list_of_ids_is_accepted(serve: Serve) -> None:
    """A JSON client may send `orders` as a list."""
    _, api = await serve()
    order_id = await api.add()
    answer = await api.call("status", orders=[order_id])
    assert list(answer.body) == [str(order_id)]
