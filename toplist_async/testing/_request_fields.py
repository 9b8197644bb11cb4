"""Reading request fields as the panel's Laravel validation does."""

from __future__ import annotations

from collections.abc import Mapping

from ._wire import Reply, Wire

__all__ = [
    "MAX_IDS",
    "Fields",
    "Token",
    "integer_field",
    "present",
    "read_ids",
    "required",
]

MAX_IDS = 100

Fields = Mapping[str, object]
Token = tuple[str, int | None]


def required(name: str) -> str:
    """Laravel's message for a field that is missing or empty."""
    return f"The {name} field is required."


def present(value: object) -> bool:
    # Laravel turns empty strings into null before validating.
    return value is not None and value != ""


def integer_field(
    fields: Fields, name: str, errors: dict[str, list[str]]
) -> int | None:
    """Read an integer field sent as a number or a numeric string."""
    value = fields.get(name)
    if not present(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else ""
    digits = text.removeprefix("-")
    if digits.isascii() and digits.isdigit():
        return int(text)
    errors[name] = [f"The {name} field must be an integer."]
    return None


def _order_id(token: str) -> int | None:
    return int(token) if token.isascii() and token.isdigit() else None


def _id_tokens(value: object) -> list[str]:
    items = value if isinstance(value, list) else str(value).split(",")
    return [text for text in (str(item).strip() for item in items) if text]


def read_ids(
    wire: Wire, fields: Fields, plural: str = "orders", single: str = "order"
) -> tuple[list[Token], tuple[int, ...], Reply | None]:
    """Read `orders` (or a lone `order`) as (as sent, as int or None) pairs.

    Also returns the int ids alone, and the refusal if the list is missing
    or too long.
    """
    value = fields.get(plural)
    if not present(value):
        value = fields.get(single)
    texts = _id_tokens(value) if present(value) else []
    tokens = [(text, _order_id(text)) for text in texts]
    ids = tuple(number for _, number in tokens if number is not None)
    if not tokens:
        return tokens, ids, wire.invalid({plural: [required(plural)]})
    if len(tokens) > MAX_IDS:
        too_many = f"The {plural} may not have more than {MAX_IDS} items."
        return tokens, ids, wire.invalid({plural: [too_many]})
    return tokens, ids, None
