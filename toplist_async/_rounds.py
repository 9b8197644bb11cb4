"""The tracker's book of orders: who is due when, and the requests of a round."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field

from ._exceptions import OrderError
from ._models import OrderState, OrderStatus
from ._poll import ending_error, fetch
from ._schedule import (
    EARLY,
    Ending,
    Failure,
    Outcome,
    Plan,
    Schedule,
    classify_failure,
)

__all__ = ["Book", "Entry", "Report", "ending_error", "fetch"]


# Orders looked at per free place in a request, when filling it: orders due
# soon but with short gaps (not yet past 80 % of them) are passed over.
_RIDER_SCAN = 4


class Entry:
    """What the tracker remembers of one order: small, for 100,000 of them."""

    __slots__ = ("plan", "polling", "seen")

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.polling = False
        self.seen: tuple[OrderState, int | None, int | None] | None = None


@dataclass(slots=True)
class Report:
    """What one poll's answers mean for the tracker's consumer and waiters."""

    updates: list[OrderStatus | OrderError] = field(default_factory=list)
    """To hand to the consumer, in order: changes, and orders that ended."""
    ended: list[tuple[int, OrderStatus | OrderError]] = field(default_factory=list)
    """Orders no longer tracked, with what their waiters get."""
    failed: list[int] = field(default_factory=list)
    """Orders whose request failed (to be retried), for `on_error`."""
    error: BaseException | None = None
    """The failure of `failed`."""
    fatal: BaseException | None = None
    """A failure that ends tracking (nothing else of the poll was applied)."""
    soonest: float | None = None
    """When the tracker's first order is due now (perhaps earlier)."""


_CHANGED, _UNCHANGED = Outcome.CHANGED, Outcome.UNCHANGED  # read once per order


def _answered(value: object) -> bool:
    return isinstance(value, (OrderStatus, OrderError))


class Book:
    """
    The tracked orders and their plans, in a heap by due time and one by the
    time they may ride along (to know when the next one becomes ready).

    The heaps may hold older schedules of an order; an entry counts only if it
    is the order's current plan and the order is not being polled.
    """

    __slots__ = ("_heap", "last_answer", "orders", "rules")

    def __init__(self, rules: Schedule) -> None:
        self.rules = rules
        self.orders: dict[int, Entry] = {}
        self._heap: list[tuple[float, int]] = []
        self.last_answer = float("-inf")
        """When the panel last answered a status request of this book's orders."""

    def add(self, key: int, now: float) -> float | None:
        """Track `key` from `now`; its due time, or None if it was tracked."""
        if key in self.orders:
            return None
        plan = self.rules.start(now)
        self.orders[key] = Entry(plan)
        heapq.heappush(self._heap, (plan.due, key))
        return plan.due

    def apply(
        self, results: Mapping[int, OrderStatus | BaseException], now: float
    ) -> Report:
        """Record what a poll at `now` answered: next plans, changes, endings."""
        report = Report()
        rules, heap, heappush, orders = (
            self.rules,
            self._heap,
            heapq.heappush,
            self.orders,
        )
        after = rules.after
        first = next(iter(results.values()), None)
        if _answered(first) or any(map(_answered, results.values())):
            self.last_answer = now  # before any failure of this poll is judged
        last_answer = self.last_answer
        for key, answer in results.items():
            entry = orders.get(key)
            if entry is None or not entry.polling:
                continue  # untracked while its poll was in flight
            entry.polling = False
            if isinstance(answer, OrderStatus):
                seen = (answer.status, answer.remains, answer.start_count)
                changed = seen != entry.seen
                entry.seen = seen
                if changed:
                    report.updates.append(answer)
                if answer.is_final:
                    self._end(report, key, answer, told=changed)
                    continue
                step = _CHANGED if changed else _UNCHANGED
            elif isinstance(answer, OrderError):
                if not answer.missing:
                    self._end(report, key, answer)
                    continue
                step = Outcome.MISSING
            elif classify_failure(answer) is Failure.FATAL:
                report.fatal = answer
                return report
            else:
                report.failed.append(key)
                report.error = answer
                step = Outcome.FAILED
            plan = after(entry.plan, now, step, last_answer)
            if plan.__class__ is not Plan:
                assert isinstance(plan, Ending)
                self._end(report, key, ending_error(key, plan, answer, rules))
                continue
            entry.plan = plan
            heappush(heap, (plan.due, key))
        if heap:
            report.soonest = heap[0][0]  # perhaps an older schedule: earlier
        return report

    def _end(
        self,
        report: Report,
        key: int,
        outcome: OrderStatus | OrderError,
        *,
        told: bool = False,
    ) -> None:
        del self.orders[key]
        if not told:
            report.updates.append(outcome)
        report.ended.append((key, outcome))

    def clear(self) -> None:
        self.orders.clear()
        self._heap.clear()

    def _current(self, when: float, key: int) -> Entry | None:
        entry = self.orders.get(key)
        if entry is None or entry.polling or entry.plan.due != when:
            return None
        return entry

    def take_round(self, now: float) -> tuple[list[list[int]], float | None]:
        """
        The requests to send at `now` (their orders marked as polling), and
        when to look again (None: no order left to poll).
        """
        heap, rules, orders = self._heap, self.rules, self.orders
        keys: list[int] = []
        plans: list[Plan] = []
        healthy = 0
        while heap and heap[0][0] <= now:
            when, key = heapq.heappop(heap)
            entry = orders.get(key)
            if entry is None or entry.polling or entry.plan.due != when:
                continue  # an older schedule of this order, or it is being polled
            entry.polling = True  # taken: what is held back is put back below
            plan = entry.plan
            keys.append(key)
            plans.append(plan)
            if not plan.failures:
                healthy += 1
        room = -healthy % rules.capacity
        ready = float("inf")
        if healthy and room:
            riders, ready = self._riders(now, room)
            for key, plan in riders:
                keys.append(key)
                plans.append(plan)
        # zip hands out (key, plan) pairs without keeping one tuple per order.
        requests = rules.pick_round(zip(keys, plans, strict=True), now, ready)
        held = requests.held
        for key in held:
            entry = orders[key]
            entry.polling = False
            heapq.heappush(heap, (entry.plan.due, key))
        if held:
            return requests, requests.until
        return requests, heap[0][0] if heap else None

    def _riders(self, now: float, room: int) -> tuple[list[tuple[int, Plan]], float]:
        """
        Up to `room` orders not yet due that may ride along now, and when the
        next order becomes ready (perhaps earlier: then it is looked at again).
        """
        heap, rules = self._heap, self.rules
        span = (1 - EARLY) * rules.max_interval  # no order rides longer before due
        riders: list[tuple[int, Plan]] = []
        passed: list[tuple[float, int]] = []
        ready = float("inf")
        looks = room * _RIDER_SCAN
        while heap and len(riders) < room and looks and heap[0][0] <= now + span:
            looks -= 1
            when, key = heapq.heappop(heap)
            entry = self._current(when, key)
            if entry is None:
                continue
            earliest = rules.earliest(entry.plan)
            if earliest <= now:
                entry.polling = True
                riders.append((key, entry.plan))
            else:
                passed.append((when, key))
                ready = min(ready, earliest)
        for item in passed:
            heapq.heappush(heap, item)
        if heap and heap[0][0] - span > now:
            # Orders not looked at are due later: none is ready before this.
            ready = min(ready, heap[0][0] - span)
        return riders, ready
