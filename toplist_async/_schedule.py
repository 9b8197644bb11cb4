"""
When a tracked order is polled and what ends its tracking: the rules, with no I/O.

Every tracker follows these rules: the in-process `OrderTracker`, and a tracker
whose state lives elsewhere (Redis, shared by worker processes). They work on
plain data: one `Plan` per order (five numbers, e.g. one hash field), the time
`now` on the tracker's clock, and what the order's last poll said. Nothing
here sleeps, sends, reads a clock or keeps state between calls.

The API, for a tracker of any kind:

- `rules = Schedule(interval=5, growth=1.5, max_interval=300, ...)` checks the
  options once (`ValueError`).
- `rules.start(now)` is a new order's plan. An order is due when
  `plan.due <= now`; it may ride along early from `rules.earliest(plan)`.
- `rules.pick_round(candidates, now, next_ready)` splits the orders that may
  go now into requests (a list of lists of ids) and says which to hold back
  (`.held`), until when (`.until`). Call it when the first order is due (or
  at `.until`), with every due order and, for room in the last request,
  some ready ones (past `rules.earliest(plan)`); `next_ready` is when the
  next order not yet ready becomes ready (leave it out: nothing is held).
- After a poll, `rules.after(plan, now, outcome, last_answer=...)` is the
  order's next `Plan`, or the `Ending` that drops it.
- `classify_failure(exc)` says whether a failed request ends tracking.

The rules:

- Interval: polled `first_poll` seconds after it is tracked, then `interval`
  seconds after each poll; a poll that shows no change multiplies the gap by
  `growth`, up to `max_interval`; a change resets it to `interval`.
- Shared rounds: a request goes out when an order is due. When its request
  has room (fewer than `capacity` ids), orders due soon fill it: an order may
  ride along once `EARLY` (80 %) of its gap has passed. A request still short
  waits for the next order to become ready, as long as no due order in it
  passes `LATE` (110 %) of its gap; a lone order is not held (nothing would
  join it in time). An order's next gap counts from the poll, so orders that
  went together stay together. The slack is thus [80 %, 110 %] of the gap;
  a poll is later only when the loop or the panel is slow.
- What ends tracking (`classify_failure` says `FATAL`): an
  `AuthenticationError` about the key (HTTP 401, or a message naming the
  key), a closed client, and (the tracker's part) the user's `on_error`
  raising. Every other failure of a whole request after the client's own
  retries (5xx, timeouts, connection errors, 429, unreadable answers) is
  `RETRY`: its orders are polled again later, their gap growing as if
  unchanged, and `on_error` is called.
- Poison isolation: an order whose request failed as a whole goes next in a
  request of at most `capacity >> failures` ids (100, 50, 25, 12, 6, 3, 1),
  with other orders at the same level only, never as a rider; any answer
  resets `failures`. Between the first halving and being alone, a failure
  counts only if the panel answered some request since the order's previous
  poll (`last_answer`), so an outage halves batches once and drops nothing.
  An order that fails alone `LONE_FAILURES` (3) times is dropped:
  `Ending.POISON` (with 100 ids a request: 9 failed polls in a row, 6
  halvings then 3 alone).
- Missing: an order the panel leaves out of `MAX_MISSES` (3) answers in a row
  is dropped: `Ending.MISSING`.
- Timeout: with `timeout`, an order not final `timeout` seconds after it was
  tracked is dropped after one last poll at that moment: `Ending.TIMEOUT`.
- A final status and a refused id end an order too; they need no plan.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from ._outcomes import Ending, Failure, Outcome, classify_failure

__all__ = [
    "DEFAULTS",
    "EARLY",
    "LONE_FAILURES",
    "MAX_MISSES",
    "Ending",
    "Failure",
    "Outcome",
    "Plan",
    "Round",
    "Schedule",
    "classify_failure",
]

K = TypeVar("K", bound=Hashable)

EARLY = 0.8
"""An order may ride along with a request once this share of its gap passed."""
LATE = 1.1
"""Polls later than this share of their gap count as outside the slack."""
MAX_MISSES = 3
"""Answers in a row that leave an order out before it is dropped as missing."""
LONE_FAILURES = 3
"""Failed polls of an order alone (the panel up) before it is dropped."""


class Round(list[list[K]]):
    """
    What `Schedule.pick_round` decided: the requests to send now (this list,
    one list of ids per request), and the orders held back to fill a request.
    """

    def __init__(
        self, requests: list[list[K]], held: list[K], until: float | None
    ) -> None:
        super().__init__(requests)
        self.held = held
        """Due orders (and riders) kept back to fill their request."""
        self.until = until
        """When to look at `held` again (another order becomes ready then)."""


class Plan(NamedTuple):
    """One order's schedule, as plain numbers a store can keep."""

    due: float
    """When the order must be polled."""
    interval: float
    """The gap that led to `due` (the next one grows from it)."""
    since: float
    """When tracking began (for `Schedule.timeout`)."""
    failures: int = 0
    """Polls in a row whose request failed as a whole (the isolation level)."""
    misses: int = 0
    """Answers in a row that left the order out."""


# What `Plan(...)` does, without the keyword handling, and the outcomes as
# plain names (an enum member read through its class costs a lookup each time):
# `after` runs once per poll per order.
_new_plan = tuple.__new__
_CHANGED, _UNCHANGED, _MISSING = Outcome.CHANGED, Outcome.UNCHANGED, Outcome.MISSING


@dataclass(frozen=True, slots=True)
class Schedule:
    """The tracking options, checked, and the rules that apply them."""

    interval: float = 5.0
    growth: float = 1.5
    max_interval: float = 300.0
    first_poll: float = 0.0
    timeout: float | None = None
    capacity: int = 100
    """Ids a status request carries at most."""

    def __post_init__(self) -> None:
        if not (
            0 < self.interval <= self.max_interval
            and self.growth >= 1
            and self.first_poll >= 0
        ):
            msg = "need 0 < interval <= max_interval, growth >= 1 and first_poll >= 0"
            raise ValueError(msg)
        if self.timeout is not None and not self.timeout > 0:
            msg = f"timeout must be > 0 seconds or None, got {self.timeout!r}"
            raise ValueError(msg)
        if self.capacity < 1:
            msg = f"capacity must be >= 1, got {self.capacity!r}"
            raise ValueError(msg)

    @property
    def lone_level(self) -> int:
        """The `failures` at which an order goes out alone."""
        return max(0, self.capacity.bit_length() - 1)

    def start(self, now: float) -> Plan:
        """The plan of an order tracked at `now`."""
        due = now + self.first_poll
        if self.timeout is not None:
            due = min(due, now + self.timeout)
        return _new_plan(Plan, (due, self.interval, now, 0, 0))

    def earliest(self, plan: Plan) -> float:
        """From when the order may ride along with a request going out."""
        if plan.failures:
            return plan.due  # a suspect never rides along
        return plan.due - (1 - EARLY) * plan.interval

    def group_size(self, plan: Plan) -> int:
        """Ids at most in the order's next request (halved after each failure)."""
        return max(1, self.capacity >> plan.failures)

    def latest(self, plan: Plan) -> float:
        """Until when a due order may wait for riders to fill its request."""
        return plan.due + (LATE - 1) * plan.interval

    def pick_round(
        self,
        candidates: Iterable[tuple[K, Plan]],
        now: float,
        next_ready: float = float("inf"),
    ) -> Round[K]:
        """
        The requests to send at `now`, most urgent ids first.

        `candidates` are orders not being polled, most urgent first: the due
        ones go, 100 a request; others fill the room left in the last request
        if they may ride along (past `EARLY`). A last request left short waits
        (`Round.held`, until `Round.until`) if another order becomes ready at
        `next_ready` before a due one in it reaches `LATE` of its gap;
        otherwise it goes now. Orders at an isolation level go when due, in
        requests of their level's size.
        """
        healthy: list[K] = []
        plans: list[Plan] = []
        riders: list[K] = []
        suspects: dict[int, list[K]] = {}
        take, note = healthy.append, plans.append  # once per order: bound once
        for key, plan in candidates:
            if plan.due <= now:
                if plan.failures:
                    suspects.setdefault(plan.failures, []).append(key)
                else:
                    take(key)
                    note(plan)
            elif self.earliest(plan) <= now:
                riders.append(key)
        size = self.capacity
        requests = [healthy[i : i + size] for i in range(0, len(healthy), size)]
        held: list[K] = []
        until = None
        if requests and riders:
            requests[-1].extend(riders[: size - len(requests[-1])])
        if requests and len(requests[-1]) < size and next_ready < float("inf"):
            last = len(healthy) - len(healthy) % size
            latest = min(map(self.latest, plans[last:]))
            if now < latest and next_ready <= latest:
                held = requests.pop()
                until = next_ready
        for failures in sorted(suspects):
            keys = suspects[failures]
            size = max(1, self.capacity >> failures)
            requests += [keys[i : i + size] for i in range(0, len(keys), size)]
        return Round(requests, held, until)

    def after(
        self,
        plan: Plan,
        now: float,
        outcome: Outcome,
        last_answer: float = float("-inf"),
    ) -> Plan | Ending:
        """
        The order's next plan after a poll at `now` said `outcome`, or its end.

        `last_answer` is when the panel last answered any status request of
        this tracker: proof that a failure is the order's, not an outage.
        """
        failures = misses = 0
        if outcome is _CHANGED:
            interval = self.interval
        else:
            interval = plan.interval * self.growth
            if interval > self.max_interval:
                interval = self.max_interval
            if outcome is _UNCHANGED:
                pass
            elif outcome is _MISSING:
                misses = plan.misses + 1
                if misses >= MAX_MISSES:
                    return Ending.MISSING
            else:
                misses = plan.misses
                lone = self.lone_level
                counts = (
                    plan.failures == 0
                    or plan.failures >= lone
                    or last_answer >= plan.due - plan.interval  # since its last poll
                )
                failures = plan.failures + counts
                if failures >= lone + LONE_FAILURES:
                    return Ending.POISON
        due = now + interval
        if self.timeout is not None:
            deadline = plan.since + self.timeout
            if now >= deadline:
                return Ending.TIMEOUT
            due = min(due, deadline)
        return _new_plan(Plan, (due, interval, plan.since, failures, misses))


# The defaults both trackers show in their signatures, so they cannot drift apart.
DEFAULTS = Schedule()
