"""Decoding the panel's answers into typed models: the API document and the dialects."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec
import pytest

from tests._helpers import (
    SPEC_123,
    SPEC_124,
    SPEC_ADD,
    SPEC_BALANCE,
    SPEC_CANCEL,
    SPEC_SERVICE,
    SPEC_SERVICES,
    SPEC_STATUS,
    respond,
)
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    Balance,
    CancelResult,
    OrderError,
    OrderState,
    OrderStatus,
    ResponseValidationError,
    Service,
    ToplistClient,
    _models,
)
from toplist_async._cancel_answers import to_cancels
from toplist_async._decode import decode_json, to_balance, to_order_id, to_services
from toplist_async._status_answers import to_statuses

BOM = b"\xef\xbb\xbf"


# --- The API document's examples, through the whole client ---------------------


async def test_spec_services_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """The documented `services` answer becomes one Service with exact fields."""
    scripted.handler = respond(SPEC_SERVICES)
    services = await client.services()
    assert services == [SPEC_SERVICE]
    assert type(services[0].rate) is Decimal
    assert scripted.actions() == ["services"]


async def test_spec_add_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """The documented `add` request goes out as documented and `{"order_id": 123}`
    gives 123."""
    scripted.handler = respond(SPEC_ADD)
    order = await client.add(
        service=1, link="http://example.com", quantity=100, interval=60
    )
    assert order == 123
    assert scripted.received == [  # form fields, the default encoding
        {
            "action": "add",
            "service": "1",
            "link": "http://example.com",
            "quantity": "100",
            "interval": "60",
            "key": API_KEY,
        }
    ]


async def test_spec_status_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """The documented `status` answer gives both orders, and the one it leaves out
    becomes an OrderError."""
    scripted.handler = respond(SPEC_STATUS)
    outcomes = await client.status_many([123, 124, 125])
    assert outcomes[123] == SPEC_123
    assert outcomes[124] == SPEC_124
    missing = outcomes[125]
    assert isinstance(missing, OrderError)
    assert missing.order_id == 125
    assert [body["orders"] for body in scripted.received] == ["123,124,125"]


async def test_spec_status_single_order_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`status(124)` picks its own order out of the documented multi-order answer."""
    scripted.handler = respond(SPEC_STATUS)
    assert await client.status(124) == SPEC_124


async def test_spec_balance_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """The documented `balance` answer becomes an exact Decimal balance."""
    scripted.handler = respond(SPEC_BALANCE)
    balance = await client.balance()
    assert balance == Balance(balance=Decimal("100.0"), currency="USD")
    assert type(balance.balance) is Decimal


async def test_spec_cancel_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """The documented `cancel` answer gives a refund for 123 and an OrderError with
    the panel's words for 124."""
    scripted.handler = respond(SPEC_CANCEL)
    outcomes = await client.cancel_many([123, 124])
    assert outcomes[123] == CancelResult(order_id=123, refund=Decimal("10.0"))
    refused = outcomes[124]
    assert isinstance(refused, OrderError)
    assert refused.order_id == 124
    assert refused.message == "Order already completed and cannot be canceled"


async def test_spec_cancel_refused_raises_for_single_cancel(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`cancel(124)` raises the OrderError the documented answer carries for 124."""
    scripted.handler = respond(SPEC_CANCEL)
    with pytest.raises(OrderError, match="already completed") as caught:
        await client.cancel(124)
    assert caught.value.order_id == 124


# --- The same examples through the converters directly -------------------------


def test_spec_services_converter() -> None:
    """`to_services` turns the documented body into the documented Service."""
    assert to_services(decode_json(SPEC_SERVICES)) == [SPEC_SERVICE]


def test_spec_add_converter() -> None:
    """`to_order_id` reads 123 from the documented add answer."""
    assert to_order_id(decode_json(SPEC_ADD)) == 123


def test_spec_status_converter() -> None:
    """`to_statuses` maps the documented answer to both orders and omits unknown
    ones."""
    outcomes = to_statuses(decode_json(SPEC_STATUS), [123, 124, 125])
    assert outcomes == {123: SPEC_123, 124: SPEC_124}


def test_spec_balance_converter() -> None:
    """`to_balance` reads the documented balance."""
    assert to_balance(decode_json(SPEC_BALANCE)) == Balance(
        balance=Decimal("100.0"), currency="USD"
    )


def test_spec_cancel_converter() -> None:
    """`to_cancels` reads one accepted and one refused cancel from the document."""
    outcomes = to_cancels(decode_json(SPEC_CANCEL), [123, 124])
    assert outcomes[123] == CancelResult(order_id=123, refund=Decimal("10.0"))
    refused = outcomes[124]
    assert isinstance(refused, OrderError)
    assert refused.message == "Order already completed and cannot be canceled"


# --- Money: exact Decimals, strings, non-finite values -------------------------

MONEY = [
    pytest.param(b"0", Decimal(0), id="int-zero"),
    pytest.param(b'"0.27819"', Decimal("0.27819"), id="string"),
    pytest.param(b'"5400"', Decimal(5400), id="string-int"),
    pytest.param(b"0.08011655652", Decimal("0.08011655652"), id="json-float"),
    pytest.param(
        b"0.30000000000000004", Decimal("0.30000000000000004"), id="float-0.3"
    ),
    pytest.param(b"0.1", Decimal("0.1"), id="float-0.1"),
    pytest.param(b'"0.0000001"', Decimal("0.0000001"), id="seven-decimals-string"),
    pytest.param(b"0.0000001", Decimal("0.0000001"), id="seven-decimals-number"),
    pytest.param(b'" 1.5 "', Decimal("1.5"), id="padded-string"),
    pytest.param(
        b"123456789012345678901234567890.000000001",
        Decimal("123456789012345678901234567890.000000001"),
        id="huge-float",
    ),
    pytest.param(
        b"123456789012345678901234567890",
        Decimal("123456789012345678901234567890"),
        id="huge-int",
    ),
]
NOT_MONEY = [
    pytest.param(b'"NaN"', id="NaN"),
    pytest.param(b'"sNaN"', id="sNaN"),
    pytest.param(b'"Infinity"', id="Infinity"),
    pytest.param(b'"-Infinity"', id="-Infinity"),
    pytest.param(b'"Unknown"', id="Unknown"),
    pytest.param(b'""', id="empty"),
    pytest.param(b"null", id="null"),
    pytest.param(b"true", id="true"),
    pytest.param(b'"1,5"', id="comma"),
]


@pytest.mark.parametrize(("raw", "expected"), MONEY)
def test_charge_is_exact_decimal(raw: bytes, expected: Decimal) -> None:
    """A charge sent as a number or a string becomes the exact Decimal it spells."""
    body = decode_json(b'{"7": {"status": "Completed", "charge": ' + raw + b"}}")
    outcome = to_statuses(body, [7])[7]
    assert isinstance(outcome, OrderStatus)
    assert type(outcome.charge) is Decimal
    assert outcome.charge == expected


@pytest.mark.parametrize(("raw", "expected"), MONEY)
def test_balance_is_exact_decimal(raw: bytes, expected: Decimal) -> None:
    """A balance sent as a number or a string becomes the exact Decimal it spells."""
    balance = to_balance(decode_json(b'{"currency": "USD", "balance": ' + raw + b"}"))
    assert type(balance.balance) is Decimal
    assert balance.balance == expected


@pytest.mark.parametrize(("raw", "expected"), MONEY)
def test_rate_is_exact_decimal(raw: bytes, expected: Decimal) -> None:
    """A service rate sent as a number or a string becomes the exact Decimal."""
    body = b'[{"service": 1, "name": "x", "min": 1, "max": 2, "rate": ' + raw + b"}]"
    (service,) = to_services(decode_json(body))
    assert type(service.rate) is Decimal
    assert service.rate == expected


def test_rate_keeps_trailing_zeros() -> None:
    """A rate of "0.00100000" keeps its digits (a float would print 0.001)."""
    body = b'[{"service": 1, "name": "x", "min": 1, "max": 2, "rate": "0.00100000"}]'
    (service,) = to_services(decode_json(body))
    assert str(service.rate) == "0.00100000"


@pytest.mark.parametrize("raw", NOT_MONEY)
def test_charge_that_is_not_a_finite_number_is_none(raw: bytes) -> None:
    """A charge that is not a finite number becomes None, the status still decodes."""
    body = decode_json(b'{"7": {"status": "Completed", "charge": ' + raw + b"}}")
    outcome = to_statuses(body, [7])[7]
    assert isinstance(outcome, OrderStatus)
    assert outcome.charge is None
    assert outcome.status is OrderState.COMPLETED


@pytest.mark.parametrize("raw", NOT_MONEY)
def test_balance_that_is_not_a_finite_number_is_refused(raw: bytes) -> None:
    """A balance that is not a finite number is a ResponseValidationError."""
    with pytest.raises(ResponseValidationError) as caught:
        to_balance(decode_json(b'{"currency": "USD", "balance": ' + raw + b"}"))
    assert caught.value.not_json is False


@pytest.mark.parametrize("raw", NOT_MONEY)
def test_rate_that_is_not_a_finite_number_is_refused(raw: bytes) -> None:
    """A service rate that is not a finite number is a ResponseValidationError."""
    body = b'[{"service": 1, "name": "x", "min": 1, "max": 2, "rate": ' + raw + b"}]"
    with pytest.raises(ResponseValidationError):
        to_services(decode_json(body))


async def test_non_finite_balance_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`balance()` raises ResponseValidationError for `"balance": "Infinity"`."""
    scripted.handler = respond(b'{"balance": "Infinity", "currency": "USD"}')
    with pytest.raises(ResponseValidationError) as caught:
        await client.balance()
    assert caught.value.not_json is False
    assert caught.value.status_code == 200


# --- Counts: ints, strings, "Unknown", ambiguous thousands ---------------------

COUNTS = [
    pytest.param(b'"3572"', 3572, id="string"),
    pytest.param(b"300", 300, id="int"),
    pytest.param(b"0", 0, id="zero"),
    pytest.param(b'" 157 "', 157, id="padded-string"),
    pytest.param(b"3572.0", 3572, id="whole-float"),
    pytest.param(b'"-5"', -5, id="negative-string"),
    pytest.param(
        b"123456789012345678901234567890", 123456789012345678901234567890, id="huge"
    ),
    pytest.param(b'"Unknown"', None, id="Unknown"),
    pytest.param(b'""', None, id="empty"),
    pytest.param(b"null", None, id="null"),
    pytest.param(b'"50.000"', None, id="thousands-50.000"),
    pytest.param(b'"1.000"', None, id="thousands-1.000"),
    pytest.param(b'"1.5"', None, id="fraction-string"),
    pytest.param(b"1.5", None, id="fraction-number"),
    pytest.param(b'"NaN"', None, id="NaN"),
    pytest.param(b"true", None, id="true"),
    pytest.param(b'"abc"', None, id="word"),
]


@pytest.mark.parametrize(("raw", "expected"), COUNTS)
def test_remains_and_start_count(raw: bytes, expected: int | None) -> None:
    """Counts become exact ints; anything else (incl. "50.000") becomes None."""
    body = decode_json(
        b'{"7": {"status": "In progress", "remains": '
        + raw
        + b', "start_count": '
        + raw
        + b"}}"
    )
    outcome = to_statuses(body, [7])[7]
    assert isinstance(outcome, OrderStatus)
    assert outcome.remains == expected
    assert outcome.start_count == expected
    if expected is not None:
        assert type(outcome.remains) is int


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        pytest.param("min", b'"50.000"', id="min-50.000"),
        pytest.param("max", b'"1.000"', id="max-1.000"),
        pytest.param("min", b'"Unknown"', id="min-Unknown"),
        pytest.param("max", b"null", id="max-null"),
        pytest.param("service", b'"MM1030"', id="service-not-numeric"),
    ],
)
def test_service_limits_are_not_guessed(field: str, raw: bytes) -> None:
    """A service's min/max/id that is not a plain whole number fails the answer."""
    fields = {"service": b"1", "name": b'"x"', "rate": b'"1"', "min": b"10"}
    fields |= {"max": b"100", field: raw}
    body = b", ".join(b'"%s": %s' % (k.encode(), v) for k, v in fields.items())
    with pytest.raises(ResponseValidationError):
        to_services(decode_json(b"[{" + body + b"}]"))


async def test_service_min_thousands_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`services()` raises ResponseValidationError for `"min": "50.000"`."""
    scripted.handler = respond(
        b'[{"service": 1, "name": "x", "type": "Default", "category": "c", '
        b'"rate": "0.90", "min": "50.000", "max": "10000"}]'
    )
    with pytest.raises(ResponseValidationError) as caught:
        await client.services()
    assert caught.value.not_json is False


# --- Numbers as strings, ids, wrappers, missing and extra fields ---------------


async def test_numbers_as_strings_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """The Perfect Panel single-order status with string numbers decodes exactly."""
    scripted.handler = respond(
        b'{"charge":"0.27819","start_count":"3572","status":"Partial",'
        b'"remains":"157","currency":"USD"}'
    )
    assert await client.status(7) == OrderStatus(
        order_id=7,
        charge=Decimal("0.27819"),
        start_count=3572,
        status=OrderState.PARTIAL,
        raw_status="Partial",
        remains=157,
        currency="USD",
    )


async def test_balance_as_string_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`{"balance": "100.84292"}` gives Decimal("100.84292")."""
    scripted.handler = respond(b'{"balance":"100.84292","currency":"USD"}')
    balance = await client.balance()
    assert balance.balance == Decimal("100.84292")
    assert str(balance.balance) == "100.84292"


def test_services_with_string_numbers() -> None:
    """A catalogue entry with every number as a string decodes to the same types."""
    (service,) = to_services(
        decode_json(
            b'[{"service":"308","name":"Followers","type":"Default",'
            b'"category":"First Category","rate":"0.90","min":"50","max":"10000",'
            b'"refill":true,"cancel":true}]'
        )
    )
    assert service == Service(
        service=308,
        name="Followers",
        type="Default",
        category="First Category",
        rate=Decimal("0.90"),
        min=50,
        max=10000,
        refill=True,
        cancel=True,
    )


@pytest.mark.parametrize(
    ("raw", "refill"),
    [
        pytest.param(b"true", True, id="true"),
        pytest.param(b"false", False, id="false"),
        pytest.param(b"1", True, id="one"),
        pytest.param(b"0", False, id="zero"),
        pytest.param(b'"1"', True, id="string-one"),
        pytest.param(b'"0"', False, id="string-zero"),
        pytest.param(b'"false"', False, id="string-false"),
        pytest.param(b"null", False, id="null"),
    ],
)
def test_service_flags(raw: bytes, refill: bool) -> None:
    """`refill`/`cancel` flags as booleans, 0/1 or strings become bools."""
    body = b'[{"service":1,"name":"x","rate":1,"min":1,"max":2,"refill":' + raw
    body += b',"cancel":' + raw + b"}]"
    (service,) = to_services(decode_json(body))
    assert service.refill is refill
    assert service.cancel is refill


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(b'{"order_id": 123}', 123, id="order_id-int"),
        pytest.param(b'{"order_id": "123"}', 123, id="order_id-string"),
        pytest.param(b'{"order": 23501}', 23501, id="order-int"),
        pytest.param(b'{"order": "23501"}', 23501, id="order-string"),
        pytest.param(b'[{"order": "1242"}]', 1242, id="list-wrapper"),
        pytest.param(b'{"status":"success","order":151}', 151, id="status-success"),
        pytest.param(
            b'{"order": 18446744073709551617}', 18446744073709551617, id="huge"
        ),
        pytest.param(b'{"order_id": 5, "extra": [1, 2]}', 5, id="extra-field"),
    ],
)
def test_add_answer_shapes(raw: bytes, expected: int) -> None:
    """Every known shape of the add answer gives the new order's int id."""
    order = to_order_id(decode_json(raw))
    assert order == expected
    assert type(order) is int


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"{}", id="empty-object"),
        pytest.param(b"[]", id="empty-list"),
        pytest.param(b'{"order": null}', id="null"),
        pytest.param(b'{"order_id": 0}', id="zero"),
        pytest.param(b'{"order_id": -4}', id="negative"),
        pytest.param(b'{"order": "abc"}', id="word"),
        pytest.param(b'{"order": 1.5}', id="fraction"),
        pytest.param(b'{"status": "success"}', id="success-without-id"),
        pytest.param(b"123", id="bare-number"),
    ],
)
def test_add_answer_without_an_order_id_is_refused(raw: bytes) -> None:
    """An add answer without a positive order id is a ResponseValidationError."""
    with pytest.raises(ResponseValidationError):
        to_order_id(decode_json(raw))


async def test_add_list_wrapper_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`add()` reads the id from smmub's `[{"order": "1242"}]`."""
    scripted.handler = respond(b'[{"order": "1242"}]')
    assert await client.add(service=1, link="https://x", quantity=10) == 1242


def test_services_wrapped_in_an_object() -> None:
    """`{"services": [...]}` decodes like the bare list."""
    wrapped = b'{"services": ' + SPEC_SERVICES + b"}"
    assert to_services(decode_json(wrapped)) == [SPEC_SERVICE]


async def test_services_wrapped_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`services()` accepts the `{"services": [...]}` wrapper."""
    scripted.handler = respond(b'{"services": ' + SPEC_SERVICES + b"}")
    assert await client.services() == [SPEC_SERVICE]


def test_single_status_wrapped_in_a_list() -> None:
    """A single-order status wrapped in a one-element list decodes."""
    body = decode_json(b'[{"charge": "1.5", "status": "Completed", "remains": 0}]')
    outcome = to_statuses(body, [42])[42]
    assert isinstance(outcome, OrderStatus)
    assert outcome.status is OrderState.COMPLETED
    assert outcome.charge == Decimal("1.5")


def test_status_without_charge_and_currency() -> None:
    """A status without `charge` and `currency` has None for both."""
    body = decode_json(b'{"5": {"status": "Pending", "start_count": 1, "remains": 9}}')
    assert to_statuses(body, [5])[5] == OrderStatus(
        order_id=5,
        charge=None,
        start_count=1,
        status=OrderState.PENDING,
        raw_status="Pending",
        remains=9,
        currency=None,
    )


def test_services_without_refill_and_cancel() -> None:
    """A service without `refill`/`cancel` defaults both to False."""
    (service,) = to_services(
        decode_json(b'[{"service": 2, "name": "n", "rate": "1", "min": 1, "max": 9}]')
    )
    assert service.refill is False
    assert service.cancel is False
    assert service.type == ""


def test_unknown_fields_are_ignored() -> None:
    """Extra fields the models do not know do not change what is decoded."""
    services = to_services(
        decode_json(
            b'[{"service": 1, "name": "Example Service 1000 votes", "type": "Default",'
            b' "category": "Votes", "rate": 10.0, "min": 1, "max": 50000,'
            b' "refill": false, "cancel": true, "dripfeed": 0, "desc": "text"}]'
        )
    )
    assert services == [SPEC_SERVICE]
    balance = to_balance(decode_json(b'{"balance": 1, "currency": "EUR", "bonus": 5}'))
    assert balance == Balance(balance=Decimal(1), currency="EUR")
    statuses = to_statuses(
        decode_json(
            b'{"123": {"charge": 0, "start_count": 50, "status": "in progress",'
            b' "remains": 50, "currency": "USD", "order": 123, "link": "x"}}'
        ),
        [123],
    )
    assert statuses == {123: SPEC_123}


# --- Per-order errors and malformed entries -------------------------------------


def test_status_per_order_error() -> None:
    """`{"10": {"error": "Incorrect order ID"}}` is an OrderError for 10 only."""
    body = decode_json(
        b'{"1": {"status": "Completed", "charge": "1"},'
        b' "10": {"error": "Incorrect order ID"},'
        b' "100": {"status": "Pending"}}'
    )
    outcomes = to_statuses(body, [1, 10, 100])
    error = outcomes[10]
    assert isinstance(error, OrderError)
    assert error.order_id == 10
    assert error.message == "Incorrect order ID"
    first, last = outcomes[1], outcomes[100]
    assert isinstance(first, OrderStatus)
    assert first.status is OrderState.COMPLETED
    assert isinstance(last, OrderStatus)
    assert last.status is OrderState.PENDING


async def test_status_per_order_error_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`status(10)` raises the OrderError while `status(1)` of the same batch
    succeeds."""
    scripted.handler = respond(
        b'{"1": {"status": "Completed"}, "10": {"error": "Incorrect order ID"}}'
    )
    outcomes = await client.status_many([1, 10])
    assert isinstance(outcomes[1], OrderStatus)
    with pytest.raises(OrderError, match="Incorrect order ID") as caught:
        await client.status(10)
    assert caught.value.order_id == 10


def test_cancel_per_order_error() -> None:
    """`{"cancel": {"error": ...}}` is an OrderError; `"cancel": 1` is accepted."""
    body = decode_json(
        b'[{"order": 9, "cancel": {"error": "Incorrect order ID"}},'
        b' {"order": 2, "cancel": 1}]'
    )
    outcomes = to_cancels(body, [9, 2])
    assert outcomes[2] == CancelResult(order_id=2, refund=None)
    error = outcomes[9]
    assert isinstance(error, OrderError)
    assert error.order_id == 9
    assert error.message == "Incorrect order ID"


@pytest.mark.parametrize(
    ("order", "order_id"),
    [
        pytest.param(b'"123"', 123, id="string"),
        pytest.param(b"123", 123, id="int"),
        pytest.param(b'" 123 "', 123, id="padded"),
    ],
)
def test_cancel_order_ids_as_strings_or_ints(order: bytes, order_id: int) -> None:
    """A cancel entry's `order` as a string or an int maps to the int id."""
    body = decode_json(b'[{"order": ' + order + b', "cancel": 1, "refund": "2.5"}]')
    assert to_cancels(body, [order_id]) == {
        order_id: CancelResult(order_id=order_id, refund=Decimal("2.5"))
    }


async def test_malformed_status_entry_affects_only_its_order(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """Malformed entries fail only their own ids; good ones and a missing one are
    reported apart."""
    scripted.handler = respond(
        b'{"1": {"status": "Completed", "charge": "0.5", "remains": 0},'
        b' "2": "garbage", "3": [1, 2], "4": null,'
        b' "5": {"status": "In progress", "charge": "oops", "remains": "Unknown"}}'
    )
    outcomes = await client.status_many([1, 2, 3, 4, 5, 6])
    good = outcomes[1]
    assert isinstance(good, OrderStatus)
    assert good.charge == Decimal("0.5")
    for bad in (2, 3, 4):
        error = outcomes[bad]
        assert isinstance(error, OrderError)
        assert error.order_id == bad
    odd = outcomes[5]
    assert isinstance(odd, OrderStatus)
    assert odd.status is OrderState.IN_PROGRESS
    assert (odd.charge, odd.remains) == (None, None)
    missing = outcomes[6]
    assert isinstance(missing, OrderError)
    assert missing.order_id == 6


def test_ids_missing_from_the_answer_are_left_out() -> None:
    """Asked ids absent from the answer are absent from the converter's result,
    and unasked or non-numeric keys are ignored."""
    body = decode_json(
        b'{"1": {"status": "Completed"}, "999": {"status": "Completed"},'
        b' "abc": {"status": "Completed"}}'
    )
    assert set(to_statuses(body, [1, 2, 3])) == {1}
    cancels = decode_json(b'[{"order": 1, "cancel": 1}, {"order": 999, "cancel": 1}]')
    assert set(to_cancels(cancels, [1, 2])) == {1}


async def test_ids_missing_from_cancel_answer_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`cancel_many` maps an id the panel left out to an OrderError for that id."""
    scripted.handler = respond(b'[{"order": "1", "cancel": 1}]')
    outcomes = await client.cancel_many([1, 2])
    assert outcomes[1] == CancelResult(order_id=1, refund=None)
    missing = outcomes[2]
    assert isinstance(missing, OrderError)
    assert missing.order_id == 2


def test_huge_order_ids_in_status_keys_are_exact() -> None:
    """A status key beyond 2**64 maps to the exact int id."""
    huge = 2**64 + 1
    body = decode_json(b'{"%d": {"status": "Pending"}}' % huge)
    outcome = to_statuses(body, [huge])[huge]
    assert isinstance(outcome, OrderStatus)
    assert outcome.order_id == huge


# --- Body-level quirks ---------------------------------------------------------


def test_utf8_bom_is_tolerated() -> None:
    """A body starting with a UTF-8 BOM decodes like the same body without it."""
    assert decode_json(BOM + SPEC_BALANCE) == decode_json(SPEC_BALANCE)


async def test_utf8_bom_through_client(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """`balance()` decodes a BOM-prefixed answer."""
    scripted.handler = respond(BOM + SPEC_BALANCE)
    assert (await client.balance()).balance == Decimal(100)


async def test_json_served_as_html_still_decodes(
    scripted: ScriptedPanel, client: ToplistClient
) -> None:
    """JSON labelled `text/html` is decoded by its content, not its content type."""
    scripted.handler = respond(SPEC_BALANCE, content_type="text/html; charset=UTF-8")
    assert (await client.balance()).currency == "USD"


# --- OrderState ----------------------------------------------------------------

SPELLINGS = [
    ("pending", OrderState.PENDING),
    ("Pending", OrderState.PENDING),
    ("awaiting_payment", OrderState.PENDING),
    ("In progress", OrderState.IN_PROGRESS),
    ("In Progress", OrderState.IN_PROGRESS),
    ("in progress", OrderState.IN_PROGRESS),
    ("in_progress", OrderState.IN_PROGRESS),
    ("IN-PROGRESS", OrderState.IN_PROGRESS),
    ("  in   progress ", OrderState.IN_PROGRESS),
    ("In progess", OrderState.IN_PROGRESS),
    ("Processing", OrderState.PROCESSING),
    ("processing", OrderState.PROCESSING),
    ("Completed", OrderState.COMPLETED),
    ("Complete", OrderState.COMPLETED),
    ("Processed", OrderState.COMPLETED),
    ("completed", OrderState.COMPLETED),
    ("Partial", OrderState.PARTIAL),
    ("Canceled", OrderState.CANCELED),
    ("Cancelled", OrderState.CANCELED),
    ("Order Cancelled", OrderState.CANCELED),
    ("Refunded", OrderState.REFUNDED),
    ("Failed", OrderState.FAILED),
    ("Error", OrderState.FAILED),
    # Read by their words.
    ("Canceled by admin", OrderState.CANCELED),
    ("Order Canceled by Admin", OrderState.CANCELED),
    ("Completed successfully", OrderState.COMPLETED),
    ("Partially Refunded", OrderState.PARTIAL),
    ("Refund issued", OrderState.REFUNDED),
    ("ERROR: link is private", OrderState.FAILED),
    ("in progress!", OrderState.IN_PROGRESS),
    ("Order is being processed", OrderState.PROCESSING),
    ("In queue", OrderState.PENDING),
]
UNRECOGNISED = [
    "weird",
    "",
    "awaiting_refill",
    "Refill",
    "Not completed",
    "Incomplete",
    "Cancel pending",
    "Cancellation requested",
]


@pytest.mark.parametrize(
    ("raw", "state"), [pytest.param(raw, state, id=raw) for raw, state in SPELLINGS]
)
def test_order_state_spellings(raw: str, state: OrderState) -> None:
    """Each spelling seen on real panels maps to its state."""
    assert OrderState.parse(raw) is state


@pytest.mark.parametrize(
    ("raw", "state"), [pytest.param(raw, state, id=raw) for raw, state in SPELLINGS]
)
def test_order_state_spellings_keep_raw_status(raw: str, state: OrderState) -> None:
    """A decoded status carries the state and the panel's exact spelling."""
    body = decode_json(json.dumps({"3": {"status": raw}}).encode())
    outcome = to_statuses(body, [3])[3]
    assert isinstance(outcome, OrderStatus)
    assert (outcome.status, outcome.raw_status) == (state, raw)


def test_the_spelling_cache_is_bounded_in_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Long spellings are read, not kept: 2,000 of 10,000 characters keep < 1 MiB."""
    monkeypatch.setattr(_models, "_SEEN_SPELLINGS", {})
    for n in range(2000):
        raw = f"Sent{'.' * 10_000}{n}"
        assert OrderState.parse(raw) is OrderState.UNKNOWN
    assert OrderState.parse("In" + " " * 10_000 + "Progress") is OrderState.IN_PROGRESS
    kept = sum(len(spelling) for spelling in _models._SEEN_SPELLINGS)
    assert kept < 1 << 20


@pytest.mark.parametrize("raw", [pytest.param(r, id=repr(r)) for r in UNRECOGNISED])
def test_unrecognised_status_is_unknown_with_raw_kept(raw: str) -> None:
    """A status this package does not know becomes UNKNOWN, the raw text kept."""
    assert OrderState.parse(raw) is OrderState.UNKNOWN
    body = decode_json(json.dumps({"3": {"status": raw, "remains": 4}}).encode())
    outcome = to_statuses(body, [3])[3]
    assert isinstance(outcome, OrderStatus)
    assert outcome.status is OrderState.UNKNOWN
    assert outcome.raw_status == raw
    assert outcome.remains == 4
    assert outcome.is_final is False


@pytest.mark.parametrize(
    ("raw", "expected_raw"),
    [
        pytest.param(b"null", "", id="null"),
        pytest.param(b"3", "3", id="number"),
    ],
)
def test_non_string_status_is_unknown(raw: bytes, expected_raw: str) -> None:
    """A status that is null or a number is UNKNOWN instead of failing."""
    outcome = to_statuses(decode_json(b'{"3": {"status": ' + raw + b"}}"), [3])[3]
    assert isinstance(outcome, OrderStatus)
    assert outcome.status is OrderState.UNKNOWN
    assert outcome.raw_status == expected_raw


FINALITY = {
    OrderState.PENDING: False,
    OrderState.IN_PROGRESS: False,
    OrderState.PROCESSING: False,
    OrderState.UNKNOWN: False,
    OrderState.COMPLETED: True,
    OrderState.PARTIAL: True,
    OrderState.CANCELED: True,
    OrderState.REFUNDED: True,
    OrderState.FAILED: True,
}


def test_finality_table_covers_every_state() -> None:
    """The finality table below names every OrderState."""
    assert set(FINALITY) == set(OrderState)


@pytest.mark.parametrize(("state", "final"), list(FINALITY.items()), ids=str)
def test_is_final(state: OrderState, final: bool) -> None:
    """Only completed, partial, canceled, refunded and failed orders are final."""
    assert state.is_final is final
    status = OrderStatus(
        order_id=1,
        charge=None,
        start_count=None,
        status=state,
        raw_status=state.value,
        remains=None,
        currency=None,
    )
    assert status.is_final is final


# --- Models ----------------------------------------------------------------------


MODELS = [
    pytest.param(SPEC_SERVICE, "rate", id="Service"),
    pytest.param(SPEC_123, "status", id="OrderStatus"),
    pytest.param(Balance(balance=Decimal(1), currency="USD"), "balance", id="Balance"),
    pytest.param(CancelResult(order_id=1, refund=None), "refund", id="CancelResult"),
]


@pytest.mark.parametrize(("model", "field"), MODELS)
def test_models_are_frozen(model: msgspec.Struct, field: str) -> None:
    """Assigning to a field of a decoded model raises AttributeError."""
    before = getattr(model, field)
    with pytest.raises(AttributeError):
        setattr(model, field, None)
    assert getattr(model, field) == before


def test_money_fields_are_decimal_never_float() -> None:
    """Every money field decoded from JSON floats is a Decimal, not a float."""
    service = to_services(decode_json(SPEC_SERVICES))[0]
    statuses = to_statuses(decode_json(b'{"1": {"charge": 0.1, "status": "x"}}'), [1])
    cancels = to_cancels(decode_json(SPEC_CANCEL), [123])
    status, cancel = statuses[1], cancels[123]
    assert isinstance(status, OrderStatus)
    assert isinstance(cancel, CancelResult)
    money = [
        service.rate,
        status.charge,
        to_balance(decode_json(SPEC_BALANCE)).balance,
        cancel.refund,
    ]
    assert [type(value) for value in money] == [Decimal] * 4
    assert status.charge == Decimal("0.1")
    assert status.charge != 0.1  # the float 0.1 is not exactly one tenth


@pytest.mark.parametrize(
    ("model", "field"),
    [
        pytest.param(SPEC_SERVICE, "rate", id="Service"),
        pytest.param(
            to_statuses(decode_json(b'{"1": {"charge": "0.1", "status": "x"}}'), [1])[
                1
            ],
            "charge",
            id="OrderStatus",
        ),
        pytest.param(
            Balance(balance=Decimal("0.1"), currency="USD"), "balance", id="Balance"
        ),
        pytest.param(
            CancelResult(order_id=1, refund=Decimal("0.1")), "refund", id="CancelResult"
        ),
    ],
)
def test_models_round_trip_through_msgspec(model: msgspec.Struct, field: str) -> None:
    """A model encoded to JSON decodes back into an equal model with Decimal money
    (so callers can cache answers with msgspec)."""
    raw = msgspec.json.encode(model)
    again = msgspec.json.decode(raw, type=type(model))
    assert again == model
    assert type(getattr(again, field)) is Decimal


def test_a_single_cancel_answered_on_its_own() -> None:
    """`{"order": 5, "cancel": 1}` without the list around it is read too."""
    from toplist_async._cancel_answers import to_cancels

    outcomes = to_cancels({"order": "5", "cancel": 1, "refund": "0.5"}, [5])
    assert outcomes == {5: CancelResult(order_id=5, refund=Decimal("0.5"))}
