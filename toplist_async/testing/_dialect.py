"""Reading a request spelled in another panel's dialect as the convention's."""

from __future__ import annotations

from collections.abc import Mapping

from .._dialect import IDS_FIELDS, SINGLE_ID_FIELDS, Dialect

__all__ = ["NO_IDS", "to_convention"]

NO_IDS = "order id(s) required"
"""What a panel with a separate many-ids action answers a request without ids."""


def to_convention(
    dialect: Dialect, fields: Mapping[str, object]
) -> tuple[dict[str, object], str | None]:
    """
    The request as the convention spells it, or the refusal a panel of this
    dialect answers (a many-ids field under the one-id action, say).
    """
    wire_action = fields.get("action")
    canonical = dict(fields)
    if dialect.key_field != "key":
        canonical.pop("key", None)
        canonical["key"] = fields.get(dialect.key_field)
    many = {name: action for action, name in dialect.many_actions.items()}
    renamed = {name: action for action, name in dialect.actions.items()}
    if not isinstance(wire_action, str):
        return canonical, None
    if wire_action in many:
        action = many[wire_action]
        canonical["action"] = action
        return canonical, None if fields.get(IDS_FIELDS[action]) else NO_IDS
    action = renamed.get(wire_action, wire_action)
    canonical["action"] = action
    lone = dialect.one_id_fields.get(action)
    if lone is not None:
        value = fields.get(lone)
        canonical.pop(IDS_FIELDS[action], None)
        canonical.pop(lone, None)
        if not value:
            return canonical, NO_IDS
        canonical[SINGLE_ID_FIELDS[action]] = value
    elif action in dialect.many_actions:
        # Several ids travel only under the other action's name.
        canonical.pop(IDS_FIELDS[action], None)
        if not fields.get(SINGLE_ID_FIELDS[action]):
            return canonical, NO_IDS
    return canonical, None
