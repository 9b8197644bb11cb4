"""A `Dialect` from command-line options, the same for `toplist` and the fake panel."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ._dialect import Dialect

__all__ = ["DIALECT_OPTIONS", "add_dialect_arguments", "dialect_from"]

# Option, `Dialect` field, metavar, help.
_PAIRS = (
    (
        "--one-id-field",
        "one_id_fields",
        "ACTION=FIELD",
        "send one id of ACTION in FIELD",
    ),
    ("--many-action", "many_actions", "ACTION=NAME", "send several ids under NAME"),
    ("--action-name", "actions", "ACTION=NAME", "the panel's name for ACTION"),
)
DIALECT_OPTIONS = frozenset({"--key-field", *(option for option, *_ in _PAIRS)})
"""The options that take a value (so a command line parser can skip it)."""


def add_dialect_arguments(
    parser: argparse.ArgumentParser,
    *,
    shown: Callable[[str], str] = str,
    top: bool = True,
) -> None:
    """Add `--key-field`, `--one-id-field`, `--many-action` and `--action-name`."""
    parser.add_argument(
        "--key-field",
        default=None if top else argparse.SUPPRESS,
        metavar="NAME",
        help=shown("the body field that carries the API key (default: key)"),
    )
    for option, _, metavar, text in _PAIRS:
        parser.add_argument(
            option,
            action="append",
            default=[] if top else argparse.SUPPRESS,
            metavar=metavar,
            help=shown(f"{text}, e.g. {_EXAMPLES[option]} (repeatable)"),
        )


_EXAMPLES = {
    "--one-id-field": "status=order",
    "--many-action": "status=multistatus",
    "--action-name": "add=order",
}


def dialect_from(args: argparse.Namespace) -> Dialect | None:
    """The `Dialect` the options describe, None if none was given; ValueError if bad."""
    maps = {
        field: _names(
            option, getattr(args, option.removeprefix("--").replace("-", "_"))
        )
        for option, field, _, _ in _PAIRS
    }
    if args.key_field is None and not any(maps.values()):
        return None
    return Dialect(
        key_field="key" if args.key_field is None else args.key_field,
        one_id_fields=maps["one_id_fields"],
        many_actions=maps["many_actions"],
        actions=maps["actions"],
    )


def _names(option: str, pairs: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for pair in pairs:
        action, equals, name = pair.partition("=")
        if not equals:
            msg = f"{option} takes ACTION=NAME, not {pair!r}"
            raise ValueError(msg)
        names[action.strip()] = name.strip()
    return names
