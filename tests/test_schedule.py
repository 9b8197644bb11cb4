"""The tracking rules of _schedule: plain data in, plain data out, no I/O."""

from __future__ import annotations

import pytest

from toplist_async import (
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    InternalServerError,
    RateLimitError,
    ResponseValidationError,
)
from toplist_async._schedule import (
    EARLY,
    LONE_FAILURES,
    MAX_MISSES,
    Ending,
    Failure,
    Outcome,
    Plan,
    Schedule,
    classify_failure,
)

RULES = Schedule()  # 5 s, x1.5, cap 300 s, 100 ids a request


def test_a_new_plan_is_due_after_first_poll() -> None:
    assert Schedule(first_poll=2).start(10) == Plan(12, 5, 10)
    assert Schedule(first_poll=60, timeout=30).start(10).due == 40


@pytest.mark.parametrize(
    ("outcome", "gap"),
    [
        (Outcome.CHANGED, 5.0),
        (Outcome.UNCHANGED, 15.0),
        (Outcome.MISSING, 15.0),
        (Outcome.FAILED, 15.0),
    ],
)
def test_the_gap_resets_on_a_change_and_grows_otherwise(
    outcome: Outcome, gap: float
) -> None:
    plan = RULES.after(Plan(100, 10, 0), 100, outcome)
    assert isinstance(plan, Plan)
    assert (plan.due, plan.interval) == (100 + gap, gap)


def test_the_gap_stops_at_the_cap() -> None:
    plan = RULES.after(Plan(1000, 250, 0), 1000, Outcome.UNCHANGED)
    assert plan == Plan(1300, 300, 0)


def test_an_answer_clears_the_failure_and_miss_counts() -> None:
    plan = RULES.after(Plan(10, 5, 0, failures=3, misses=2), 10, Outcome.UNCHANGED)
    assert isinstance(plan, Plan)
    assert (plan.failures, plan.misses) == (0, 0)


def test_an_order_left_out_of_answers_in_a_row_is_dropped_as_missing() -> None:
    plan: Plan | Ending = Plan(0, 5, 0)
    misses = 0
    while isinstance(plan, Plan):
        plan = RULES.after(plan, plan.due, Outcome.MISSING)
        misses += 1
    assert (plan, misses) == (Ending.MISSING, MAX_MISSES)
    between = RULES.after(Plan(0, 5, 0, misses=MAX_MISSES - 1), 0, Outcome.UNCHANGED)
    assert isinstance(between, Plan)
    assert between.misses == 0  # only misses in a row count


def _fail_until_dropped(plan: Plan, *, proof: bool) -> tuple[Plan | Ending, list[int]]:
    sizes: list[int] = []
    step: Plan | Ending = plan
    for _ in range(50):
        if not isinstance(step, Plan):
            break
        sizes.append(RULES.group_size(step))
        now = step.due
        answered = now if proof else float("-inf")
        step = RULES.after(step, now, Outcome.FAILED, last_answer=answered)
    return step, sizes


def test_a_failing_order_is_halved_until_alone_then_dropped() -> None:
    """With the panel answering other requests, isolation runs its course."""
    ending, sizes = _fail_until_dropped(Plan(0, 5, 0), proof=True)
    assert ending is Ending.POISON
    assert sizes == [100, 50, 25, 12, 6, 3, 1] + [1] * (LONE_FAILURES - 1)
    assert len(sizes) == RULES.lone_level + LONE_FAILURES == 9


def test_an_outage_halves_once_and_drops_nothing() -> None:
    """Without an answer from the panel, a failure past the first proves nothing."""
    plan: Plan | Ending = Plan(0, 5, 0)
    for _ in range(40):
        assert isinstance(plan, Plan)
        plan = RULES.after(plan, plan.due, Outcome.FAILED)
    assert isinstance(plan, Plan)
    assert (plan.failures, RULES.group_size(plan), plan.interval) == (1, 50, 300)


def test_once_alone_every_failure_counts() -> None:
    """An isolated order fails alone: no other answer is needed to drop it."""
    plan: Plan | Ending = Plan(0, 5, 0, failures=RULES.lone_level)
    for _ in range(LONE_FAILURES):
        assert isinstance(plan, Plan)
        plan = RULES.after(plan, plan.due, Outcome.FAILED)
    assert plan is Ending.POISON


def test_an_order_not_final_by_its_timeout_gets_a_last_poll_then_ends() -> None:
    rules = Schedule(timeout=60)
    plan = rules.after(Plan(50, 20, 0), 50, Outcome.UNCHANGED)
    assert plan == Plan(60, 30, 0)  # due at the deadline, not at 80
    assert isinstance(plan, Plan)
    assert rules.after(plan, 60, Outcome.UNCHANGED) is Ending.TIMEOUT
    assert rules.after(plan, 60, Outcome.FAILED) is Ending.TIMEOUT


def _ids(requests: list[list[int]]) -> list[list[int]]:
    return [sorted(request) for request in requests]


def test_due_orders_go_100_a_request() -> None:
    due = [(key, Plan(10, 5, 0)) for key in range(250)]
    assert [len(r) for r in RULES.pick_round(due, 10)] == [100, 100, 50]


def test_orders_past_80_percent_of_their_gap_fill_the_last_request() -> None:
    """A rider may go once 80 % of its gap passed, never sooner, in order given."""
    due = [(key, Plan(10, 5, 0)) for key in range(98)]
    ready = (1, Plan(10 + 300 * (1 - EARLY), 300, 0))  # due in 60 s, gap 300
    early = (2, Plan(10 + 300 * (1 - EARLY) + 0.01, 300, 0))
    also = (3, Plan(10.5, 5, 0))
    spare = (4, Plan(10.9, 5, 0))
    requests = RULES.pick_round([*due, early, ready, also, spare], 10)
    assert _ids(requests) == [sorted([*range(98), 1, 3])]
    assert (requests.held, requests.until) == ([], None)


def test_riders_go_only_with_a_request_going_out() -> None:
    assert RULES.pick_round([(1, Plan(10.5, 5, 0))], 10) == []


@pytest.mark.parametrize(
    ("now", "next_ready", "held"),
    [
        pytest.param(10, 10.4, True, id="held-until-the-next-rider"),
        pytest.param(10, 10.5, True, id="held-up-to-110-percent"),
        pytest.param(10, 10.6, False, id="none-in-time-goes-now"),
        pytest.param(10.5, 10.6, False, id="at-110-percent-goes-now"),
    ],
)
def test_a_short_request_waits_for_riders_up_to_110_percent(
    now: float, next_ready: float, held: bool
) -> None:
    """A request with room waits for the next ready order, never past 110 %."""
    due = [(1, Plan(10, 5, 0)), (2, Plan(10, 50, 0))]  # 110 % at 10.5 and 15
    requests = RULES.pick_round(due, now, next_ready)
    if held:
        assert (requests, requests.held, requests.until) == ([], [1, 2], next_ready)
    else:
        assert (requests, requests.held, requests.until) == ([[1, 2]], [], None)


def test_full_requests_go_and_only_a_short_last_one_waits() -> None:
    due = [(key, Plan(10, 5, 0)) for key in range(150)]
    suspect = [(999, Plan(10, 5, 0, failures=1))]
    requests = RULES.pick_round([*due, *suspect], 10, 10.2)
    assert [len(r) for r in requests] == [100, 1]
    assert (len(requests.held), requests.until) == (50, 10.2)


def test_suspected_orders_go_apart_in_requests_of_their_level() -> None:
    """Level k goes 100 >> k a request, never with healthy orders or riders."""
    healthy = [(key, Plan(10, 5, 0)) for key in range(3)]
    halves = [(key, Plan(10, 5, 0, failures=1)) for key in range(100, 160)]
    alone = [(key, Plan(9, 5, 0, failures=7)) for key in (200, 201)]
    waiting = [(300, Plan(10.5, 5, 0, failures=1))]  # not due: never a rider
    requests = RULES.pick_round([*healthy, *halves, *alone, *waiting], 10)
    assert _ids(requests) == [
        [0, 1, 2],
        list(range(100, 150)),
        list(range(150, 160)),
        [200],
        [201],
    ]


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (AuthenticationError("Unauthenticated.", status_code=401), Failure.FATAL),
        (AuthenticationError("Invalid API key", status_code=403), Failure.FATAL),
        (AuthenticationError("Invalid API key", status_code=200), Failure.FATAL),
        (
            AuthenticationError("API is Disable for this user", status_code=200),
            Failure.FATAL,
        ),
        (
            AuthenticationError("Unauthorized access to order status", status_code=403),
            Failure.RETRY,
        ),
        (ClientClosedError("the client is closed"), Failure.FATAL),
        (InternalServerError("Bad Gateway", status_code=502), Failure.RETRY),
        (RateLimitError("Too Many Attempts.", status_code=429), Failure.RETRY),
        (APITimeoutError("timed out", request_sent=True), Failure.RETRY),
        (
            ResponseValidationError("not JSON", status_code=200, body="<html>"),
            Failure.RETRY,
        ),
    ],
)
def test_what_ends_tracking_and_what_is_retried(
    error: BaseException, failure: Failure
) -> None:
    assert classify_failure(error) is failure


@pytest.mark.parametrize(
    "options",
    [
        {"interval": 0},
        {"interval": 10, "max_interval": 5},
        {"growth": 0.5},
        {"first_poll": -1},
        {"timeout": 0},
        {"timeout": -5},
        {"capacity": 0},
    ],
)
def test_impossible_rules_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"interval|timeout|capacity"):
        Schedule(**options)  # type: ignore[arg-type]
