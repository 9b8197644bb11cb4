"""The tracker's book of orders: who is due when, and the requests of a round."""

from __future__ import annotations

import heapq

from ._models import OrderState
from ._schedule import EARLY, Plan, Schedule

__all__ = ["Book", "Entry"]

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


class Book:
    """
    The tracked orders and their plans, in a heap by due time.

    The heap may hold older schedules of an order; an entry counts only if it
    is the order's current `plan.due` and the order is not being polled.
    """

    __slots__ = ("_heap", "orders", "rules")

    def __init__(self, rules: Schedule) -> None:
        self.rules = rules
        self.orders: dict[int, Entry] = {}
        self._heap: list[tuple[float, int]] = []

    @property
    def first_due(self) -> float | None:
        """When the next order is due (perhaps an outdated schedule: earlier)."""
        return self._heap[0][0] if self._heap else None

    def add(self, key: int, now: float) -> float | None:
        """Track `key` from `now`; its due time, or None if it was tracked."""
        if key in self.orders:
            return None
        plan = self.rules.start(now)
        self.orders[key] = Entry(plan)
        heapq.heappush(self._heap, (plan.due, key))
        return plan.due

    def plan(self, entry: Entry, key: int, plan: Plan) -> None:
        """Give a polled order its next plan."""
        entry.plan = plan
        entry.polling = False
        heapq.heappush(self._heap, (plan.due, key))

    def clear(self) -> None:
        self.orders.clear()
        self._heap.clear()

    def _current(self, when: float, key: int) -> Entry | None:
        entry = self.orders.get(key)
        if entry is None or entry.polling or entry.plan.due != when:
            return None
        return entry

    def take_round(self, now: float) -> list[list[int]]:
        """The requests to send at `now`; their orders are marked as polling."""
        heap, rules = self._heap, self.rules
        candidates: list[tuple[int, Plan]] = []
        healthy = 0
        while heap and heap[0][0] <= now:
            when, key = heapq.heappop(heap)
            entry = self._current(when, key)
            if entry is not None:
                candidates.append((key, entry.plan))
                healthy += not entry.plan.failures
        room = -healthy % rules.capacity
        if healthy and room:
            candidates += self._riders(now, room)
        requests = rules.pick_round(candidates, now)
        for request in requests:
            for key in request:
                self.orders[key].polling = True
        return requests

    def _riders(self, now: float, room: int) -> list[tuple[int, Plan]]:
        """Orders not yet due that may fill `room` places in a request now."""
        heap = self._heap
        horizon = now + (1 - EARLY) * self.rules.max_interval  # none later may ride
        riders: list[tuple[int, Plan]] = []
        passed: list[tuple[float, int]] = []
        looks = room * _RIDER_SCAN
        while heap and len(riders) < room and looks and heap[0][0] <= horizon:
            looks -= 1
            when, key = heapq.heappop(heap)
            entry = self._current(when, key)
            if entry is None:
                continue
            if self.rules.earliest(entry.plan) <= now:
                riders.append((key, entry.plan))
            else:
                passed.append((when, key))
        for item in passed:
            heapq.heappush(heap, item)
        return riders
