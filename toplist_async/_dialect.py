"""`Dialect`: how a panel of the API v2 family spells its requests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["ACTIONS", "IDS_FIELDS", "SINGLE_ID_FIELDS", "Dialect"]

ACTIONS = frozenset(
    {"services", "add", "status", "balance", "cancel", "refill", "refill_status"}
)
IDS_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "status": "orders",
        "cancel": "orders",
        "refill": "orders",
        "refill_status": "refills",
    }
)
"""The field that carries a batch's comma-separated ids, per batched action."""
SINGLE_ID_FIELDS: Mapping[str, str] = MappingProxyType(
    {"status": "order", "cancel": "order", "refill": "order", "refill_status": "refill"}
)
"""The convention's field for one id, per batched action."""


def _names(value: object, what: str, allowed: frozenset[str]) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        msg = f"{what} must be a mapping of action to name, not {type(value).__name__}"
        raise TypeError(msg)
    for action, name in value.items():
        if action not in allowed:
            msg = f"{what}: {action!r} is not one of {sorted(allowed)}"
            raise ValueError(msg)
        if not isinstance(name, str) or not name.strip():
            msg = f"{what}[{action!r}] must be a non-empty string, not {name!r}"
            raise ValueError(msg)
    return MappingProxyType(dict(value))


@dataclass(frozen=True, kw_only=True)
class Dialect:
    """
    How a panel of the family spells its requests; the default is toplistbot's.

    `key_field` is the body field that carries the API key (`"api_token"` on
    some panels). `actions` renames actions (`{"add": "order"}`). For the
    batched actions (status, cancel, refill, refill_status), `one_id_fields`
    sends a request of one id in that field instead of the list
    (`{"status": "order"}` sends `order=5`, and the panel's flat answer is
    read), and `many_actions` names the action a request of several ids uses
    (`{"status": "multistatus"}`). For a panel that reads one order as
    `order=` and several under `multistatus`:

        Dialect(
            one_id_fields={"status": "order"},
            many_actions={"status": "multistatus"},
        )
    """

    key_field: str = "key"
    actions: Mapping[str, str] = field(default_factory=dict)
    one_id_fields: Mapping[str, str] = field(default_factory=dict)
    many_actions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key_field, str) or not self.key_field.strip():
            msg = f"key_field must be a non-empty string, not {self.key_field!r}"
            raise ValueError(msg)
        if self.key_field == "action":
            msg = "key_field cannot be 'action'"
            raise ValueError(msg)
        batched = frozenset(IDS_FIELDS)
        checks = (
            ("actions", ACTIONS),
            ("one_id_fields", batched),
            ("many_actions", batched),
        )
        for name, allowed in checks:
            object.__setattr__(self, name, _names(getattr(self, name), name, allowed))

    def request(
        self, action: str, fields: Mapping[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The action name and fields to send for `action`, keyless."""
        wire_action = self.actions.get(action, action)
        ids_field = IDS_FIELDS.get(action)
        if ids_field is None or ids_field not in fields:
            return wire_action, dict(fields)
        ids = str(fields[ids_field])
        lone = self.one_id_fields.get(action)
        if lone is not None and "," not in ids:
            rest = {k: v for k, v in fields.items() if k != ids_field}
            return wire_action, {**rest, lone: ids}
        return self.many_actions.get(action, wire_action), dict(fields)
