"""Fault injection: the ways a real panel, or what sits before it, goes wrong."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["ACTIONS", "FAULT_KINDS", "Fault", "Faults", "parse_faults"]

ACTIONS = ("services", "add", "status", "balance", "cancel")
FAULT_KINDS = (
    "latency",
    "rate_limit",
    "server_error",
    "reset",
    "truncated",
    "empty",
    "html_200",
    "slow",
    "add_lost",
)
_PARAMS: dict[str, tuple[str, ...]] = {
    "latency": ("seconds",),
    "rate_limit": ("retry_after",),
    "server_error": ("status",),
    "slow": ("seconds",),
    "add_lost": ("then", "seconds", "status"),
}
_DEFAULT_SECONDS = {"latency": 0.2, "slow": 60.0, "add_lost": 60.0}
_LOST_THEN = ("reset", "server_error", "slow")
_SERVER_ERRORS = (500, 502, 503)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One fault rule: inject `kind` on matching requests.

    A request matches when `action` is None or equals the request's action. The
    rule fires on the next `times` matching requests, or on a fraction `rate` of
    them (drawn from the panel's seeded RNG), or, given neither, on all of them.

    Kinds and their parameters:

    - `latency` (`seconds`=0.2): wait, then answer normally.
    - `rate_limit` (`retry_after`=1): 429 `{"message": "Too Many Attempts."}`
      with `Retry-After`.
    - `server_error` (`status`: 500, 502 or 503 drawn at random): an HTML error
      page like nginx or Cloudflare serve.
    - `reset`: drop the TCP connection (RST) before doing anything.
    - `truncated`: run the action, answer 200 with the first half of the JSON.
    - `empty`: 200 with an empty body.
    - `html_200`: 200 with a Cloudflare "Just a moment..." HTML page.
    - `slow` (`seconds`=60): wait (longer than a client's timeout), then answer
      normally if the client is still there.
    - `add_lost` (`then`="reset", `seconds`=60, `status`): `add` only. The
      order IS created and charged, then the client gets no answer: a reset,
      a server error (`then="server_error"`) or a wait of `seconds`
      (`then="slow"`).
    """

    kind: str
    rate: float | None = None
    times: int | None = None
    action: str | None = None
    seconds: float | None = None
    retry_after: int | None = None
    status: int | None = None
    then: str | None = None

    def __post_init__(self) -> None:
        kind = self.kind
        if kind not in FAULT_KINDS:
            msg = (
                f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            )
            raise ValueError(msg)
        if self.rate is not None and self.times is not None:
            msg = f"{kind}: give rate or times, not both"
            raise ValueError(msg)
        if self.rate is not None and not 0.0 <= self.rate <= 1.0:
            msg = f"{kind}: rate must be between 0 and 1, got {self.rate!r}"
            raise ValueError(msg)
        if self.times is not None and self.times < 1:
            msg = f"{kind}: times must be at least 1, got {self.times!r}"
            raise ValueError(msg)
        if self.action is not None and self.action not in ACTIONS:
            msg = f"{kind}: unknown action {self.action!r}; expected one of {ACTIONS}"
            raise ValueError(msg)
        allowed = _PARAMS.get(kind, ())
        for name in ("seconds", "retry_after", "status", "then"):
            if getattr(self, name) is not None and name not in allowed:
                takes = ", ".join(allowed) or "no parameters"
                msg = f"{kind} takes no {name!r} (it takes {takes})"
                raise ValueError(msg)
        if self.seconds is not None and self.seconds < 0:
            msg = f"{kind}: seconds must be >= 0, got {self.seconds!r}"
            raise ValueError(msg)
        if self.retry_after is not None and self.retry_after < 0:
            msg = f"{kind}: retry_after must be >= 0, got {self.retry_after!r}"
            raise ValueError(msg)
        if self.status is not None and not 500 <= self.status <= 599:
            msg = f"{kind}: status must be a 5xx code, got {self.status!r}"
            raise ValueError(msg)
        if kind == "add_lost":
            if self.action not in (None, "add"):
                msg = f"add_lost only applies to add, not {self.action!r}"
                raise ValueError(msg)
            if self.then not in (None, *_LOST_THEN):
                msg = f"add_lost: then must be one of {_LOST_THEN}, got {self.then!r}"
                raise ValueError(msg)
            object.__setattr__(self, "action", "add")
            object.__setattr__(self, "then", self.then or "reset")
        if kind in _DEFAULT_SECONDS and self.seconds is None:
            object.__setattr__(self, "seconds", _DEFAULT_SECONDS[kind])
        if kind == "rate_limit" and self.retry_after is None:
            object.__setattr__(self, "retry_after", 1)


class _Rule:
    __slots__ = ("fault", "remaining")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = fault.times


class Faults:
    """The panel's active fault rules (`panel.faults`); the first that fires wins."""

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._rules: list[_Rule] = []

    def add(
        self,
        kind: str,
        *,
        rate: float | None = None,
        times: int | None = None,
        action: str | None = None,
        seconds: float | None = None,
        retry_after: int | None = None,
        status: int | None = None,
        then: str | None = None,
    ) -> Fault:
        """Inject `kind` from now on; see `Fault` for the kinds and parameters."""
        fault = Fault(
            kind=kind,
            rate=rate,
            times=times,
            action=action,
            seconds=seconds,
            retry_after=retry_after,
            status=status,
            then=then,
        )
        self._rules.append(_Rule(fault))
        return fault

    def extend(self, faults: Iterable[Fault]) -> None:
        """Activate already built rules, e.g. from `parse_faults()`."""
        self._rules.extend(_Rule(fault) for fault in faults)

    def clear(self) -> None:
        """Remove every rule."""
        self._rules.clear()

    def __iter__(self) -> Iterator[Fault]:
        return iter([rule.fault for rule in self._rules])

    def __len__(self) -> int:
        return len(self._rules)

    def pick(self, action: str | None) -> Fault | None:
        """Return the fault to inject on a request for `action`, if any."""
        for rule in self._rules:
            fault = rule.fault
            if fault.action is not None and fault.action != action:
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                return fault
            if fault.rate is None or self._rng.random() < fault.rate:
                return fault
        return None

    def server_status(self, fault: Fault) -> int:
        """Return the HTTP status a server error answers with."""
        return fault.status or self._rng.choice(_SERVER_ERRORS)


_CONVERT: dict[str, Callable[[str], Any]] = {
    "rate": float,
    "times": int,
    "action": str,
    "seconds": float,
    "retry_after": int,
    "status": int,
    "then": str,
}


def parse_faults(spec: str) -> list[Fault]:
    """Parse a command-line fault spec into rules.

    Grammar: rules separated by `,`; each rule is a kind followed by `:`-separated
    fields; a bare number is the rate, anything else is `name=value` with name one
    of `rate`, `times`, `action`, `seconds`, `retry_after`, `status`, `then`.
    Spaces around tokens are ignored and a blank spec means no faults::

        server_error:0.2,reset:0.05,rate_limit:0.1:retry_after=1,add_lost:times=1
        latency:action=status:seconds=0.5,server_error:times=2:status=502

    Raises `ValueError` naming the bad rule and why.
    """
    faults: list[Fault] = []
    if not spec.strip():
        return faults
    for item in spec.split(","):
        kind, *tokens = (token.strip() for token in item.split(":"))
        values: dict[str, Any] = {}
        try:
            for token in tokens:
                name, sep, value = token.partition("=")
                if not sep:
                    name, value = "rate", token
                if name not in _CONVERT:
                    msg = f"unknown field {name!r} (expected {', '.join(_CONVERT)})"
                    raise ValueError(msg)
                if name in values:
                    msg = f"{name!r} given twice"
                    raise ValueError(msg)
                try:
                    values[name] = _CONVERT[name](value.strip())
                except ValueError:
                    msg = f"{name}={value!r} is not a valid {name}"
                    raise ValueError(msg) from None
            faults.append(Fault(kind=kind, **values))
        except ValueError as exc:
            msg = f"bad fault {item.strip()!r}: {exc}"
            raise ValueError(msg) from None
    return faults
