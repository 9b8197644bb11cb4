"""
Fuzzing: hostile answers become a model or a ToplistError, bad ids never leave.

Response side: random and mutated bodies go through the whole path from bytes
to models that `Transport.post` and the converters take (decode, classify,
convert), and, for fewer examples, through a real client against a real server.
Request side: ids of every kind are normalised or refused before any request.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from tests._helpers import SPEC_ADD, SPEC_BALANCE, SPEC_SERVICES
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APIError,
    Balance,
    CancelResult,
    InternalServerError,
    OrderError,
    OrderState,
    OrderStatus,
    RateLimitError,
    ResponseValidationError,
    Service,
    ToplistClient,
    ToplistError,
)
from toplist_async._cancel_answers import to_cancels
from toplist_async._classifier import raise_for_answer
from toplist_async._decode import (
    NotJSON,
    decode_json,
    to_balance,
    to_order_id,
    to_services,
)
from toplist_async._status_answers import to_statuses

# A failing example that holds a long body would otherwise turn hypothesis's
# "overly large repr" warning into the error shown instead of the failure.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
)
# Seeded for CI; one failure is shrunk and shown at a time, which keeps a red
# run short (the table of hostile bodies below pins the known hard cases).
FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=150,
    report_multiple_bugs=False,
)
# The server fixture is shared by the examples of one test on purpose: each
# example sets its own handler and clears what the server recorded.
SERVED = settings(
    FUZZ,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ASKED = [1, 2, 3]
EXCERPT_CHARS = 500  # what Transport.post keeps of a body that is not JSON

# ---------------------------------------------------------------------------
# The path from bytes to models, as the client takes it.


def answer(
    action: str,
    raw: bytes,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    ids: list[int] = ASKED,
) -> object:
    """Decode, classify and convert `raw` the way `Transport.post` and the client do."""
    try:
        body, is_json = decode_json(raw), True
    except NotJSON:
        body, is_json = raw[:EXCERPT_CHARS].decode("utf-8", "replace"), False
    raise_for_answer(status, headers or {}, body, is_json=is_json)
    assert 200 <= status < 300, f"HTTP {status} was taken for a success"
    if action == "services":
        return to_services(body)
    if action == "add":
        return to_order_id(body)
    if action == "status":
        return to_statuses(body, ids)
    if action == "balance":
        return to_balance(body)
    assert action == "cancel"
    return to_cancels(body, ids)


def money(value: object, *, optional: bool) -> None:
    if optional and value is None:
        return
    assert isinstance(value, Decimal), value
    assert value.is_finite(), value


def whole(value: object, *, optional: bool = False) -> None:
    if optional and value is None:
        return
    assert type(value) is int, value


def check_outcomes(result: object, ids: list[int], model: type[Any]) -> None:
    assert isinstance(result, dict)
    assert set(result) <= set(ids)
    for order, outcome in result.items():
        assert isinstance(outcome, model | OrderError), outcome
        assert outcome.order_id == order
        if isinstance(outcome, OrderError):
            assert isinstance(outcome.message, str)
        elif isinstance(outcome, OrderStatus):
            money(outcome.charge, optional=True)
            whole(outcome.start_count, optional=True)
            whole(outcome.remains, optional=True)
            assert isinstance(outcome.status, OrderState)
            assert isinstance(outcome.raw_status, str)
            assert outcome.currency is None or isinstance(outcome.currency, str)
        else:
            money(outcome.refund, optional=True)


def check_model(action: str, result: object, ids: list[int] = ASKED) -> None:
    """A successful answer is the action's model, with typed, finite fields."""
    if action == "services":
        assert isinstance(result, list)
        for service in result:
            assert isinstance(service, Service)
            whole(service.service)
            whole(service.min)
            whole(service.max)
            money(service.rate, optional=False)
            assert isinstance(service.refill, bool)
            assert isinstance(service.cancel, bool)
            for text in (service.name, service.type, service.category):
                assert isinstance(text, str)
    elif action == "add":
        whole(result)
        assert isinstance(result, int)
        assert result > 0
    elif action == "balance":
        assert isinstance(result, Balance)
        money(result.balance, optional=False)
        assert isinstance(result.currency, str)
    elif action == "status":
        check_outcomes(result, ids, OrderStatus)
    else:
        check_outcomes(result, ids, CancelResult)


def check_error(exc: ToplistError, status: int) -> None:
    """The error of a refused answer carries what the caller needs, sanely typed."""
    assert isinstance(exc.message, str)
    if isinstance(exc, APIError) or (
        isinstance(exc, ResponseValidationError) and exc.not_json
    ):
        assert exc.status_code == status
    if not 200 <= status < 300:
        assert isinstance(exc, APIError), exc
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        assert exc.retry_after >= 0, exc.retry_after  # never NaN nor negative


def model_or_error(
    action: str,
    raw: bytes,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    ids: list[int] = ASKED,
) -> object:
    """Run `answer`; a ToplistError is fine, a result must be a proper model."""
    try:
        result = answer(action, raw, status=status, headers=headers, ids=ids)
    except ToplistError as exc:
        check_error(exc, status)
        return exc
    check_model(action, result, ids)
    return result


# ---------------------------------------------------------------------------
# Writing JSON, including the numbers Python's json module cannot spell.


class Raw(str):
    """A JSON token written as is: `1e999`, `-0`, an unpaired surrogate escape."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Raw({str(self)!r})"


def dumps(value: object) -> str:
    """JSON text of `value`; `Raw` tokens are pasted in, NaN becomes `NaN`."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v)}"
            for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def encode(value: object) -> bytes:
    return dumps(value).encode("utf-8", "surrogatepass")


def nested(depth: int, leaf: str = "1", *, kind: str = "list") -> Raw:
    """`depth` levels of lists (or objects) around `leaf`, as a JSON token."""
    if kind == "list":
        return Raw("[" * depth + leaf + "]" * depth)
    return Raw('{"a":' * depth + leaf + "}" * depth)


LONG = "9" * 4_301  # one digit more than int() converts from a string by default

# The values real panels put where a number or a word should be, and worse.
WEIRD = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        1,
        2**63,
        2**64,
        -(2**63) - 1,
        10**400,
        -(10**400),
        "",
        " ",
        "0",
        "-0",
        "+7",
        " 12 ",
        "NaN",
        "-nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        "1e999",
        "-1e999",
        "1e-999",
        "1E+2",
        "50.000",
        "1.000",
        "0.0000001",
        "0.27819",
        "Unknown",
        "\u0661\u0662",
        "\uff11\uff12",
        "0x1F",
        "1_000",
        "1,5",
        "12abc",
        "true",
        "null",
        "\x00",
        "\u202e12",
        "🙂" * 3,
        "x" * 10_000,
        LONG,
        "1." + "0" * 5_000,
        API_KEY,
        Raw("1e999"),
        Raw("-1e999"),
        Raw("1e-999"),
        Raw("-0"),
        Raw("-0.0"),
        Raw("1E400"),
        Raw("0.1e-400"),
        Raw("123456789012345678901234567890.123456789"),
        Raw("1" + "0" * 400),
        Raw("1e99999999999999999999"),
        [],
        {},
        [1],
        {"error": "x"},
        {"message": None},
    ]
)
# Tokens a JSON decoder may refuse (RFC 8259 lets it limit the range of numbers):
# the whole body is then not JSON, a ResponseValidationError, whatever it held.
UNDECODABLE = st.sampled_from(
    [Raw("1" + "0" * 5_000), Raw('"\\ud800"'), Raw("NaN"), Raw("Infinity")]
)
KEYS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        ["1", "2", "3", " 2 ", "+1", "1.0", "2e0", "-3", "0", "\u0661", LONG]
    ),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    WEIRD,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=16,
)
# Any value at all where one value is expected, nesting a little deep included.
GARBAGE = st.one_of(
    JSON_VALUES,
    WEIRD,
    st.integers(1, 300).map(nested),
    st.integers(1, 300).map(lambda depth: nested(depth, kind="object")),
)
_MISSING = object()


def like(good: object) -> st.SearchStrategy[object]:
    """Mostly the good value, often a value of the wrong kind, sometimes absent."""
    return st.one_of(
        st.just(good), st.just(good), WEIRD, JSON_VALUES, st.just(_MISSING)
    )


def shape(**fields: st.SearchStrategy[object]) -> st.SearchStrategy[dict[str, object]]:
    """An object with these fields (some dropped) and maybe a few extra ones."""

    def build(parts: tuple[dict[str, object], dict[str, object]]) -> dict[str, object]:
        chosen, extra = parts
        return {**extra, **{k: v for k, v in chosen.items() if v is not _MISSING}}

    extras = st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=2)
    return st.tuples(st.fixed_dictionaries(fields), extras).map(build)


SERVICE = shape(
    service=st.one_of(like(1), like("308")),
    name=like("Example Service 1000 votes"),
    type=like("Default"),
    category=like("Votes"),
    rate=st.one_of(like(Raw("10.0")), like("0.90"), like("0.00100000")),
    min=st.one_of(like(1), like("50"), like("1.000")),
    max=st.one_of(like(50_000), like("10000")),
    refill=st.one_of(like(False), like("1")),
    cancel=like(True),
)
STATUS_WORDS = st.sampled_from(
    ["in progress", "Completed", "In_Progress", "Order Cancelled", "Partial", "zzz"]
)
STATUS_ENTRY = st.one_of(
    shape(
        charge=st.one_of(like(0), like("0.27819"), like(Raw("0.08011655652"))),
        start_count=st.one_of(like(50), like("3572")),
        status=st.one_of(like("completed"), STATUS_WORDS),
        remains=st.one_of(like("157"), like("Unknown")),
        currency=like("USD"),
    ),
    shape(error=like("Incorrect order ID")),
)
CANCEL_ENTRY = shape(
    order=st.one_of(like("1"), like(2), st.sampled_from(["3", " 1 ", 1.0, LONG])),
    cancel=st.one_of(like(1), shape(error=like("Order already completed"))),
    refund=like(Raw("10.0")),
)
ASKED_KEYS = st.sampled_from(["1", "2", "3"])


def wrapped(entry: st.SearchStrategy[Any]) -> st.SearchStrategy[object]:
    """The entry itself, or wrapped in a one-element list as some panels do."""
    return st.one_of(entry, entry.map(lambda value: [value]))


SHAPES: dict[str, st.SearchStrategy[object]] = {
    "services": st.one_of(
        st.lists(SERVICE, max_size=3),
        st.lists(SERVICE, max_size=3).map(lambda entries: {"services": entries}),
        st.tuples(st.lists(SERVICE, max_size=2), GARBAGE).map(lambda t: [*t[0], t[1]]),
    ),
    "add": wrapped(
        st.one_of(
            shape(order_id=like(123)),
            shape(order=like("23501")),
            shape(status=like("success"), order=like(151)),
        )
    ),
    "status": st.one_of(
        st.dictionaries(st.one_of(ASKED_KEYS, KEYS), STATUS_ENTRY, max_size=4),
        st.dictionaries(ASKED_KEYS, GARBAGE, max_size=3),
        wrapped(STATUS_ENTRY),
    ),
    "balance": wrapped(
        shape(
            balance=st.one_of(like(Raw("100.0")), like("100.84292")),
            currency=like("USD"),
        )
    ),
    "cancel": st.one_of(
        st.lists(st.one_of(CANCEL_ENTRY, GARBAGE), max_size=4),
        st.dictionaries(st.one_of(ASKED_KEYS, KEYS), CANCEL_ENTRY, max_size=3),
    ),
}

# The API document's answers, byte for byte, as the seeds of byte mutations.
# Status and cancel ask for ids 1 and 2 (ASKED) where the document has 123 and 124.
SPEC: dict[str, bytes] = {
    "services": SPEC_SERVICES,
    "add": SPEC_ADD,
    "status": (
        b'{ "1": { "charge": 0, "start_count": 50, "status": "in progress", '
        b'"remains": 50, "currency": "USD" }, "2": { "charge": 0, "start_count": 100, '
        b'"status": "completed", "remains": 0, "currency": "USD" } }'
    ),
    "balance": SPEC_BALANCE,
    "cancel": (
        b'[ { "order": "1", "cancel": 1, "refund": 10.0 }, { "order": "2", '
        b'"cancel": { "error": "Order already completed and cannot be canceled" } } ]'
    ),
}
ACTIONS = list(SPEC)
HTML = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr>nginx</body></html>"
)
PREFIXES = [
    b"\xef\xbb\xbf",
    b"\xef\xbb\xbf\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b" \r\n\t",
    b"\x00",
    b")]}',\n",
]
BAD_UTF8 = [
    b"\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xc0\xaf",
    b"\x80",
]


def flip(raw: bytes, at: int, bit: int) -> bytes:
    return raw[:at] + bytes([raw[at] ^ (1 << bit)]) + raw[at + 1 :]


def mutations(raw: bytes) -> st.SearchStrategy[bytes]:
    """`raw` cut off, bit-flipped, with invalid UTF-8, BOMs, re-encoded, replaced."""
    size = len(raw)
    text = raw.decode()
    return st.one_of(
        st.integers(0, size).map(lambda at: raw[:at]),
        st.tuples(st.integers(0, size - 1), st.integers(0, 7)).map(
            lambda t: flip(raw, *t)
        ),
        st.tuples(st.integers(0, size), st.sampled_from(BAD_UTF8)).map(
            lambda t: raw[: t[0]] + t[1] + raw[t[0] :]
        ),
        st.sampled_from(PREFIXES).map(lambda prefix: prefix + raw),
        st.sampled_from([text.encode("utf-16"), text.encode("utf-32"), raw * 2]),
        st.sampled_from([HTML, b"", b" ", b"null", b"OK", HTML * 1_000]),
        st.binary(max_size=64),
    )


def bodies(action: str) -> st.SearchStrategy[bytes]:
    """Bytes for `action`: wrong-typed valid shapes, any JSON, mutated spec bodies."""
    return st.one_of(
        SHAPES[action].map(encode),
        SHAPES[action].map(encode),
        GARBAGE.map(encode),
        UNDECODABLE.map(lambda token: encode({"1": {"remains": token}, "x": token})),
        mutations(SPEC[action]),
    )


ANY_BODY = st.sampled_from(ACTIONS).flatmap(bodies)
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40
)
HEADERS = st.dictionaries(
    st.sampled_from(["Retry-After", "X-RateLimit-Reset", "Location"]),
    st.one_of(
        HEADER_TEXT,
        st.sampled_from(
            ["nan", "inf", "-inf", "1e999", "-5", "Wed, 21 Oct 2015 07:28:00 GMT"]
        ),
    ),
)

# ---------------------------------------------------------------------------
# Response side: the decoders and the classifier.


@pytest.mark.parametrize("action", ACTIONS)
@FUZZ
@given(data=st.data())
def test_any_body_gives_a_model_or_a_toplist_error(
    action: str, data: st.DataObject
) -> None:
    """Wrong types, odd numbers, mutated bytes: a typed model or a ToplistError."""
    raw = data.draw(bodies(action), label="raw")
    ids = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True))
    model_or_error(action, raw, ids=ids)


@FUZZ
@given(
    action=st.sampled_from(ACTIONS),
    status=st.integers(100, 599),
    raw=ANY_BODY,
    headers=HEADERS,
)
def test_any_status_and_body_give_a_model_or_an_api_error(
    action: str, status: int, raw: bytes, headers: dict[str, str]
) -> None:
    """Any status, headers and body: a model for 2xx, else an APIError; no crash."""
    model_or_error(action, raw, status=status, headers=headers)


ERROR_BODIES = {
    "laravel-errors": b'{"errors": {"action": ["The action field is required."]}}',
    "unauthorized": b'{"error": "Unauthorized access to order status"}',
    "invalid-action": b'{"error": "Invalid action"}',
    "too-many-attempts": b'{"message": "Too Many Attempts."}',
    "not-enough-funds": b'{"error": "Not enough funds"}',
    "empty-object": b"{}",
    "html": HTML,
    "empty-body": b"",
}


@pytest.mark.parametrize("raw", ERROR_BODIES.values(), ids=ERROR_BODIES.keys())
def test_every_http_status_is_classified(raw: bytes) -> None:
    """Each status from 100 to 599 is a success only in 2xx, an APIError otherwise."""
    for status in range(100, 600):
        outcome = model_or_error("balance", raw, status=status)
        if not 200 <= status < 300:
            assert isinstance(outcome, APIError), (status, outcome)
        if status >= 500 and not isinstance(outcome, RateLimitError):
            assert isinstance(outcome, InternalServerError), (status, outcome)
        if status == 429:
            assert isinstance(outcome, RateLimitError), outcome


GOOD = Raw('{"status": "completed", "remains": 0, "charge": 1.5}')
# Hypothesis raises the recursion limit while it runs a test, so bodies that
# nest deep enough to hit the normal limit are checked here, outside it.
HOSTILE = {
    "deep-list": ("services", encode(nested(10_000))),
    "deep-object-in-entry": ("status", encode({"1": nested(10_000, kind="object")})),
    "deep-under-the-stack-limit": ("status", encode({"1": nested(500), "2": GOOD})),
    "exponent-overflow": (
        "balance",
        encode({"balance": Raw("1e99999999999999999999")}),
    ),
    "exponent-underflow": (
        "status",
        encode({"1": {"charge": Raw("1e-99999999999999999999")}}),
    ),
    "long-digit-string-count": ("status", encode({"1": {"remains": LONG}, "2": GOOD})),
    "long-digit-string-key": ("status", encode({LONG: GOOD, "2": GOOD})),
    "long-digit-string-order-id": ("add", encode({"order_id": LONG})),
    "long-digit-string-cancel-order": (
        "cancel",
        encode([{"order": LONG, "cancel": 1}]),
    ),
    "long-digit-string-rate": ("services", encode([{"service": 1, "rate": LONG}])),
    "long-digit-number": ("balance", encode({"balance": Raw("9" * 5_000)})),
    "invalid-utf8-in-string": ("balance", b'{"balance": "1", "currency": "US\xff"}'),
    "surrogate-bytes-in-key": ("add", b'{"\xed\xa0\x80": 1, "order_id": 5}'),
    "invalid-utf8-in-error": ("status", b'{"error": "Incorrect order \xc3\x28"}'),
}
HOSTILE_BODIES = [pytest.param(*case, id=name) for name, case in HOSTILE.items()]


@pytest.mark.parametrize(("action", "raw"), HOSTILE_BODIES)
def test_hostile_body_gives_a_model_or_a_toplist_error(action: str, raw: bytes) -> None:
    """Deep nesting, exponents out of range, long digits, bad UTF-8: no crash."""
    model_or_error(action, raw)


BUDGET = 2.0  # seconds; the decode itself takes microseconds


@pytest.mark.parametrize(
    "value",
    ["1e999999999", Raw("1e999999999")],
    ids=["string", "number"],
)
def test_a_tiny_body_with_a_huge_exponent_is_decoded_quickly(value: object) -> None:
    """A 60-byte answer with `remains: 1e999999999` must not freeze the client."""
    raw = encode({"1": {"status": "completed", "remains": value}})
    code = (
        "from toplist_async import ToplistError\n"
        "from toplist_async._decode import decode_json\n"
        "from toplist_async._status_answers import to_statuses\n"
        "try:\n"
        f"    to_statuses(decode_json({raw!r}), [1])\n"
        "except ToplistError:\n"
        "    pass\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            timeout=BUDGET,
            capture_output=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"decoding {raw!r} took more than {BUDGET} s")
    assert done.returncode == 0, done.stderr.decode()


@FUZZ
@given(
    good=st.dictionaries(
        st.integers(10**7, 10**9),
        st.builds(
            lambda status, remains, charge: {
                "status": status,
                "remains": remains,
                "charge": charge,
                "start_count": "3572",
                "currency": "USD",
            },
            STATUS_WORDS,
            st.sampled_from([0, "157", "Unknown", None]),
            st.sampled_from([Raw("0.08011655652"), "0.27819", 0]),
        ),
        min_size=1,
        max_size=4,
    ),
    bad_id=st.integers(10**7, 10**9),
    bad=st.one_of(GARBAGE, STATUS_ENTRY),
    stray=st.one_of(st.none(), st.tuples(KEYS, GARBAGE)),
    unanswered=st.booleans(),
)
def test_one_bad_status_entry_spoils_only_its_own_order(
    good: dict[int, dict[str, object]],
    bad_id: int,
    bad: object,
    stray: tuple[str, object] | None,
    unanswered: bool,
) -> None:
    """N good entries and one garbage entry (or key): the N still come out right."""
    assume(bad_id not in good)
    assume(stray is None or stray[0] not in {"error", "errors", *map(str, good)})
    # An id the panel left out makes the decoder look at every key of the body;
    # no key of 8 characters or fewer spells this one.
    left_out = [12_345_678_901] if unanswered else []
    good_body = {str(order): entry for order, entry in good.items()}
    alone = answer("status", encode(good_body), ids=list(good))
    assert isinstance(alone, dict)
    assert all(isinstance(alone[order], OrderStatus) for order in good)

    body = {**good_body, str(bad_id): bad}
    if stray is not None:
        body[stray[0]] = stray[1]
    ids = [*good, bad_id, *left_out]
    mixed = answer("status", encode(body), ids=ids)
    check_model("status", mixed, ids)
    assert isinstance(mixed, dict)
    assert {order: mixed[order] for order in good} == alone
    assert not set(left_out) & set(mixed)
    assert bad_id not in mixed or isinstance(mixed[bad_id], OrderStatus | OrderError)


@FUZZ
@given(
    good=st.dictionaries(
        st.integers(10**7, 10**9),
        st.sampled_from([1, "1", True, "true"]),
        min_size=1,
        max_size=4,
    ),
    bad_id=st.integers(10**7, 10**9),
    bad=st.one_of(
        GARBAGE.filter(lambda value: not isinstance(value, dict)),
        st.builds(
            lambda order, cancel, refund: {
                "order": order,
                "cancel": cancel,
                "refund": refund,
            },
            st.none(),
            GARBAGE,
            GARBAGE,
        ),
    ),
    at=st.integers(0, 4),
)
def test_one_bad_cancel_entry_spoils_only_its_own_order(
    good: dict[int, object], bad_id: int, bad: object, at: int
) -> None:
    """N accepted cancels and one garbage entry: the N still come out accepted."""
    assume(bad_id not in good)
    if isinstance(bad, dict) and bad.get("order", 0) is None:
        bad = {**bad, "order": str(bad_id)}
    entries: list[object] = [
        {"order": str(order), "cancel": flag, "refund": "1.5"}
        for order, flag in good.items()
    ]
    entries.insert(at, bad)
    ids = [*good, bad_id]
    outcomes = answer("cancel", encode(entries), ids=ids)
    check_model("cancel", outcomes, ids)
    assert isinstance(outcomes, dict)
    for order in good:
        assert outcomes[order] == CancelResult(order_id=order, refund=Decimal("1.5"))


# ---------------------------------------------------------------------------
# Response side, end to end: a real client against a real server.


async def call_action(client: ToplistClient, action: str) -> tuple[object, list[int]]:
    if action == "services":
        return await client.services(), ASKED
    if action == "add":
        return await client.add(
            service=1, link="https://example.com", quantity=10
        ), ASKED
    if action == "status":
        return await client.status_many(ASKED), ASKED
    if action == "balance":
        return await client.balance(), ASKED
    return await client.cancel_many(ASKED), ASKED


async def served(
    scripted: ScriptedPanel, action: str, respond: Callable[[], web.Response]
) -> object:
    """Call `action` on a real client whose panel answers `respond()`."""
    scripted.received.clear()

    async def handler(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        return respond()

    scripted.handler = handler
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=0
    ) as client:
        try:
            result, ids = await call_action(client, action)
        except ToplistError as exc:
            return exc
    check_model(action, result, ids)
    return result


@SERVED
@given(
    action=st.sampled_from(ACTIONS),
    raw=ANY_BODY,
    status=st.one_of(
        st.just(200),
        st.sampled_from([400, 401, 404, 422, 429, 500, 503]),
        st.integers(200, 599),
    ),
    content_type=st.sampled_from(
        ["application/json", "text/html; charset=utf-8", "text/plain"]
    ),
    headers=HEADERS,
)
async def test_client_lets_only_toplist_errors_escape(
    scripted: ScriptedPanel,
    action: str,
    raw: bytes,
    status: int,
    content_type: str,
    headers: dict[str, str],
) -> None:
    """Through the real transport, any answer gives a model or a ToplistError."""
    outcome = await served(
        scripted,
        action,
        lambda: web.Response(
            status=status, body=raw, headers={**headers, "Content-Type": content_type}
        ),
    )
    if isinstance(outcome, ToplistError):
        assert API_KEY not in str(outcome)


STATUS_BODIES = st.one_of(
    bodies("status"),
    st.dictionaries(ASKED_KEYS, STATUS_ENTRY, max_size=3).map(encode),
    st.dictionaries(
        ASKED_KEYS,
        st.fixed_dictionaries(
            {"status": STATUS_WORDS},
            optional={
                "charge": st.one_of(st.decimals().map(str), st.sampled_from([0, 1.5])),
                "start_count": st.integers(),
                "remains": st.integers(),
                "currency": st.sampled_from(["USD", None]),
                "extra": GARBAGE,
            },
        ),
        max_size=3,
    ).map(encode),
)


@settings(SERVED, max_examples=100)
@given(raw=STATUS_BODIES)
async def test_client_status_answers_match_the_tolerant_decoder(
    scripted: ScriptedPanel, raw: bytes
) -> None:
    """Whatever path the client decodes a 200 status answer by, the outcomes agree."""
    expected = model_or_error("status", raw)
    outcome = await served(
        scripted,
        "status",
        lambda: web.Response(body=raw, content_type="application/json"),
    )
    if isinstance(expected, ToplistError):
        # The client may split the batch and blame each order on its own.
        assert isinstance(outcome, ToplistError) or (
            isinstance(outcome, dict)
            and all(isinstance(one, OrderError) for one in outcome.values())
        ), outcome
        return
    assert isinstance(outcome, dict)
    assert isinstance(expected, dict)
    assert set(outcome) == set(ASKED)  # the client reports left-out ids too
    for order in ASKED:
        got, wanted = outcome[order], expected.get(order)
        if isinstance(got, OrderError):
            assert wanted is None or isinstance(wanted, OrderError), (order, got)
            assert wanted is None or got.message == wanted.message
        else:
            assert got == wanted, order


@pytest.mark.parametrize(
    ("action", "raw"),
    [
        *HOSTILE_BODIES,
        pytest.param(
            "balance",
            encode({"balance": nested(600, json.dumps(API_KEY))}),
            id="deep-with-the-key-echoed",
        ),
    ],
)
async def test_client_survives_hostile_bodies(
    scripted: ScriptedPanel, action: str, raw: bytes
) -> None:
    """The hostile bodies, served for real, give a model or a ToplistError."""
    # Outside hypothesis, so the recursion limit is the normal one.
    await served(
        scripted,
        action,
        lambda: web.Response(body=raw, content_type="application/json"),
    )


# ---------------------------------------------------------------------------
# Request side: ids of every kind, normalised or refused before sending.


class Index:
    """An int-like object (as numpy's integers are): it has `__index__`."""

    def __init__(self, number: int) -> None:
        self.number = number

    def __index__(self) -> int:
        return self.number

    def __repr__(self) -> str:
        return f"Index({self.number})"


_DIGITS = re.compile(r"\s*([0-9]+)\s*")


def expected_id(value: object) -> int | type[Exception]:
    """
    The documented rule for one id, written independently of the library.

    A positive int (not a bool), an int-like object, or a string of ASCII digits
    with optional whitespace around is the id; a number outside 1..2**63-1 or
    another string is a ValueError; any other type is a TypeError.
    """
    if isinstance(value, bool):
        return TypeError
    if isinstance(value, int | Index):
        number = value.__index__()
    elif isinstance(value, str):
        found = _DIGITS.fullmatch(value)
        if found is None:
            return ValueError
        number = int(found[1])
    else:
        return TypeError
    return number if 0 < number < 2**63 else ValueError


def expected_ids(values: list[object]) -> list[int] | type[Exception]:
    """The ids in first-seen order without duplicates, or the first refusal."""
    seen: list[int] = []
    for value in values:
        verdict = expected_id(value)
        if isinstance(verdict, type):
            return verdict
        if verdict not in seen:
            seen.append(verdict)
    return seen or ValueError


WHITESPACE = st.sampled_from(["", " ", "\t", "\n ", "\u3000", "\xa0"])
ID_VALUES = st.one_of(
    st.integers(-3, 120),
    st.integers(2**63 - 2, 2**70),
    st.tuples(WHITESPACE, st.integers(-3, 10**6), WHITESPACE).map(
        lambda t: f"{t[0]}{t[1]}{t[2]}"
    ),
    st.sampled_from(
        [
            "\u0661\u0662",
            "\uff11\uff12",
            "²",
            "+5",
            "-5",
            "0x10",
            "1_000",
            "1e3",
            "1.0",
            "12,13",
            "",
            " ",
            "007",
        ]
    ),
    st.text(max_size=4),
    st.floats(),
    st.just(1.0),
    st.booleans(),
    st.none(),
    st.binary(max_size=3),
    st.lists(st.integers(1, 9), max_size=2),
    st.decimals(allow_nan=False, places=0, min_value=1, max_value=9),
    st.integers(-2, 9).map(Index),
)
GOOD_IDS = st.integers(1, 60)
ID_LISTS = st.one_of(
    st.lists(ID_VALUES, max_size=6),
    st.lists(GOOD_IDS, min_size=1, max_size=30),
    st.integers(99, 260).map(lambda n: [*range(1, n + 1), *range(1, n + 1, 7)]),
)


def as_given(values: list[object], kind: str) -> Any:
    if kind == "tuple":
        return tuple(values)
    if kind == "generator":
        return (value for value in values)
    if kind == "dict":
        return dict.fromkeys(values) if all(v.__hash__ for v in values) else values
    return values


async def fake_panel(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
    """A panel that answers every id it is asked about."""
    orders = str(body.get("orders", "")).split(",")
    if body["action"] == "status":
        answer_: object = {
            order: {"status": "completed", "remains": 0} for order in orders
        }
    elif body["action"] == "cancel":
        answer_ = [{"order": order, "cancel": 1} for order in orders]
    else:
        answer_ = {"order_id": 7}
    return web.json_response(answer_)


def sent_chunks(scripted: ScriptedPanel) -> list[list[int]]:
    chunks = []
    for body in scripted.received:
        orders = body["orders"]
        assert re.fullmatch(r"[1-9][0-9]*(,[1-9][0-9]*)*", orders), orders
        chunks.append([int(order) for order in orders.split(",")])
    return chunks


@SERVED
@given(
    method=st.sampled_from(["status_many", "cancel_many"]),
    values=ID_LISTS,
    kind=st.sampled_from(["list", "tuple", "generator", "dict"]),
)
async def test_many_ids_are_normalised_or_refused_before_sending(
    scripted: ScriptedPanel, method: str, values: list[object], kind: str
) -> None:
    """Ids are sent de-duplicated, in order, 100 a request; or refused, nothing sent."""
    scripted.received.clear()
    scripted.handler = fake_panel
    given = as_given(values, kind)
    # Judge what the client will iterate: a dict's keys merge 1, 1.0 and True.
    expected = expected_ids(values if kind == "generator" else list(given))
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=0
    ) as client:
        call = getattr(client, method)
        if isinstance(expected, type):
            with pytest.raises(expected):
                await call(given)
            assert scripted.received == []
            return
        outcomes = await call(given)
    assert list(outcomes) == expected
    model = OrderStatus if method == "status_many" else CancelResult
    assert all(isinstance(outcome, model) for outcome in outcomes.values())
    slices = [expected[at : at + 100] for at in range(0, len(expected), 100)]
    assert sorted(sent_chunks(scripted)) == sorted(slices)
    assert set(scripted.actions()) == {method.removesuffix("_many")}


@pytest.mark.parametrize(
    "values",
    ["123", b"12", bytearray(b"12"), memoryview(b"12"), 5, None, 1.5],
    ids=["str", "bytes", "bytearray", "memoryview", "int", "None", "float"],
)
@pytest.mark.parametrize("method", ["status_many", "cancel_many"])
async def test_a_non_list_of_ids_is_refused(
    scripted: ScriptedPanel, method: str, values: object
) -> None:
    """A string, bytes-like object or scalar in place of the list is a TypeError."""
    scripted.handler = fake_panel
    async with ToplistClient(API_KEY, base_url=scripted.base_url) as client:
        with pytest.raises(TypeError):
            await getattr(client, method)(values)
    assert scripted.received == []


@SERVED
@given(method=st.sampled_from(["status", "cancel", "add"]), value=ID_VALUES)
@example(method="status", value="\u0661\u0662")
@example(method="add", value=2**64 + 1)
async def test_one_id_is_normalised_or_refused_before_sending(
    scripted: ScriptedPanel, method: str, value: object
) -> None:
    """One order or service id is sent as a positive int, or refused, nothing sent."""
    scripted.received.clear()
    scripted.handler = fake_panel
    expected = expected_id(value)
    async with ToplistClient(
        API_KEY, base_url=scripted.base_url, max_retries=0
    ) as client:

        async def call() -> Any:
            if method == "add":
                return await client.add(service=value, link="x")  # type: ignore[arg-type]
            return await getattr(client, method)(value)

        if isinstance(expected, type):
            with pytest.raises(expected) as refused:
                await call()
            assert repr(value) in str(refused.value)
            assert scripted.received == []
            return
        outcome = await call()
    [sent] = scripted.received
    if method == "add":
        assert outcome == 7
        assert sent["service"] == str(expected)  # a form field
    else:
        assert sent_chunks(scripted) == [[expected]]
        assert outcome.order_id == expected
