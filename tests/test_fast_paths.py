"""The typed fast paths (status, balance) read exactly what the tolerant path reads."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from tests.test_decode import COUNTS
from toplist_async import Balance, OrderStatus, ResponseValidationError
from toplist_async._decode import BALANCE_ANSWER, decode_as, decode_json, to_balance
from toplist_async._status_answers import STATUS_ENTRIES, to_statuses

# The family's common form: counts and money as strings (field notes §1).
STRING_DIALECT = (
    b'{"1": {"charge": "0.27819", "start_count": "3572", "status": "Partial",'
    b' "remains": "157", "currency": "USD"},'
    b' "2": {"charge": "1.5", "start_count": "0", "status": "Pending",'
    b' "remains": "1000", "currency": "USD"}}'
)
INT_DIALECT = (
    b'{"1": {"charge": 0.27819, "start_count": 3572, "status": "Partial",'
    b' "remains": 157, "currency": "USD"}}'
)


def both_paths(raw: bytes, ids: list[int]) -> tuple[object, object]:
    """What the fast path makes of `raw` (None if it refuses it), and the tolerant."""
    typed = decode_as(raw, STATUS_ENTRIES)
    fast = None if typed is None else to_statuses(typed, ids)
    return fast, to_statuses(decode_json(raw), ids)


@pytest.mark.parametrize("raw", [STRING_DIALECT, INT_DIALECT], ids=["strings", "ints"])
def test_both_number_dialects_take_the_fast_path(raw: bytes) -> None:
    """Counts as ints or digit strings, money as numbers or strings: typed decode."""
    fast, tolerant = both_paths(raw, [1, 2])
    assert fast is not None
    assert fast == tolerant
    assert all(type(outcome) is OrderStatus for outcome in fast.values())  # type: ignore[attr-defined]


@pytest.mark.parametrize(("raw", "expected"), COUNTS)
def test_counts_read_the_same_on_both_paths(raw: bytes, expected: int | None) -> None:
    """ "1.000", "Unknown", " 157 ": whichever path reads them, today's result."""
    body = b'{"7": {"status": "Partial", "remains": %s, "start_count": %s}}' % (
        raw,
        raw,
    )
    fast, tolerant = both_paths(body, [7])
    assert tolerant[7].remains == expected  # type: ignore[index]
    if fast is not None:
        assert fast[7].remains == expected  # type: ignore[index]
        assert fast[7].start_count == expected  # type: ignore[index]
        assert type(fast[7].remains) is type(expected)  # type: ignore[index]


def test_a_long_digit_string_is_no_count_on_either_path() -> None:
    """More digits than any count: None, not a slow or refused int()."""
    digits = json.dumps("9" * 5000).encode()
    fast, tolerant = both_paths(
        b'{"7": {"status": "Partial", "remains": %s}}' % digits, [7]
    )
    assert fast is not None
    assert fast == tolerant
    assert fast[7].remains is None  # type: ignore[index]


# JSON fragments a panel may write where a number belongs.
FRAGMENTS = st.sampled_from(
    [
        "0", "157", "-3", "3572.0", "1.5", "1e3", "123456789012345678901234567890",
        '"0"', '"157"', '"007"', '" 157 "', '"-5"', '"+7"', '"1.000"', '"50.000"',
        '"1.5"', '"0.27819"', '"1e3"', '"Unknown"', '""', '"NaN"', '"sNaN"',
        '"Infinity"', '"1_000"', '"1__0"', '" +1_0 "', '"\\u000b12"', '"\\u001c12"',
        '"12a"', '"\\u0663"', '"\\u00b2"', '"99999999999999999999"',
        "null", "true", "[]", "{}",
    ]
)  # fmt: skip


@given(
    charge=FRAGMENTS,
    start_count=FRAGMENTS,
    remains=FRAGMENTS,
    currency=st.sampled_from(['"USD"', "null", "1", '""']),
    extra=st.sampled_from(["", ', "link": "x"', ', "error": null', ', "error": "x"']),
)
def test_fast_path_agrees_with_the_tolerant_path(
    charge: str, start_count: str, remains: str, currency: str, extra: str
) -> None:
    """Whatever an entry holds, the fast path answers as the tolerant one or refuses."""
    entry = (
        f'{{"status": "In progress", "charge": {charge}, "start_count": {start_count},'
        f' "remains": {remains}, "currency": {currency}{extra}}}'
    )
    raw = f'{{"5": {entry}, "6": {{"status": "Completed"}}}}'.encode()
    fast, tolerant = both_paths(raw, [5, 6])
    if fast is not None:
        assert repr(fast) == repr(tolerant)


# --- balance ----------------------------------------------------------------------


def both_balance_paths(raw: bytes) -> tuple[object, object]:
    """`balance()` on `raw`: the fast path (None: refused), the tolerant path."""

    def read(body: object) -> object:
        try:
            return to_balance(body)
        except ResponseValidationError as exc:
            return type(exc), exc.message

    typed = decode_as(raw, BALANCE_ANSWER)
    fast = None if typed is None else read(typed)
    return fast, read(decode_json(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"balance": "100.84", "currency": "USD"}',
        b'{"balance": 100.84, "currency": "USD"}',
    ],
    ids=["string", "number"],
)
def test_a_balance_in_either_dialect_takes_the_fast_path(raw: bytes) -> None:
    fast, tolerant = both_balance_paths(raw)
    assert fast == tolerant == Balance(balance=Decimal("100.84"), currency="USD")


@given(
    amount=FRAGMENTS,
    currency=st.sampled_from(['"USD"', "null", "1", '""', '"\\u20ac"']),
    extra=st.sampled_from(
        ["", ', "error": "x"', ', "status": "error", "message": "m"', ', "x": 1']
    ),
)
def test_balance_fast_path_agrees_with_the_tolerant_path(
    amount: str, currency: str, extra: str
) -> None:
    """Whatever a balance answer holds, the fast path reads it alike or refuses it."""
    for raw in (
        f'{{"balance": {amount}, "currency": {currency}{extra}}}'.encode(),
        f'{{"balance": {amount}{extra}}}'.encode(),
    ):
        fast, tolerant = both_balance_paths(raw)
        if fast is not None:
            assert repr(fast) == repr(tolerant)
