"""The `toplist` command line, run through its entry point against fake panels."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import toplist_async
from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APITimeoutError,
    InsufficientFundsError,
    OrderError,
    ToplistError,
)
from toplist_async.cli import _screen, main
from toplist_async.cli._errors import EPILOG, EXIT_CODES, exit_code
from toplist_async.cli._screen import Activity
from toplist_async.testing import DEFAULT_SERVICES, FakePanel

SEED_KEY = "seed-owner-key"
START_BALANCE = "1234.5"
SUBCOMMANDS = (
    "services",
    "balance",
    "add",
    "status",
    "cancel",
    "refill",
    "refill-status",
    "watch",
    "worker",
    "track",
    "events",
    "demo",
    "fake-panel",
)
COLUMNS = re.compile(r" {2,}")

# Each fake panel runs in its own process for the whole module.
PANELS: dict[str, str] = {
    # Any key opens a fresh account holding START_BALANCE; the clock is frozen
    # so statuses never change; orders 1..5 belong to SEED_KEY.
    "open": f"--speed 0 --balance {START_BALANCE} --seed-orders 5 "
    f"--seed-orders-key {SEED_KEY}",
    "locked": f"--api-key {API_KEY} --seed-orders 5",
    # Every balance request gets a 500 HTML page, every services request a 200
    # HTML page, and every add creates the order but loses the answer.
    "faulty": "--faults server_error:action=balance:status=500,"
    "html_200:action=services,add_lost",
}


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TOPLIST_")}


def _read_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 15)
    assert ready, "the fake panel did not announce itself"
    line = process.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return line.split()[-1]


def _terminate(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    _terminate(process)
    return process.communicate(timeout=15)


def _spawn(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_clean_env(),
    )


@pytest.fixture(scope="module")
def panels() -> Iterator[dict[str, str]]:
    """Start every panel of PANELS at once; yield their base URLs; stop them all."""
    processes = {
        name: _spawn("-m", "toplist_async.testing", "--port", "0", *args.split())
        for name, args in PANELS.items()
    }
    try:
        yield {name: _read_url(process) for name, process in processes.items()}
    finally:
        for process in processes.values():
            _terminate(process)
        for process in processes.values():
            _stop(process)


@pytest.fixture(autouse=True)
def _no_toplist_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOPLIST_API_KEY", raising=False)
    monkeypatch.delenv("TOPLIST_BASE_URL", raising=False)


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> Run:
    try:
        code = main(list(argv))
    except SystemExit as exited:  # argparse: usage errors and --help
        code = int(exited.code or 0)
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def rows(table: str) -> list[list[str]]:
    """Split a printed table into cells (columns are 2+ spaces apart)."""
    return [COLUMNS.split(line) for line in table.splitlines()]


def assert_table_head(table: str, headers: list[str]) -> list[list[str]]:
    """Check the header and its dashes line; return the data rows."""
    lines = rows(table)
    assert lines[0] == headers
    assert all(set(cell) == {"-"} for cell in lines[1])
    assert len(lines[1]) == len(headers)
    return lines[2:]


def assert_one_error_line(err: str, words: str) -> None:
    """One line in words (no class names, no traceback) that says `words`."""
    assert err.endswith("\n")
    assert len(err.splitlines()) == 1, err
    assert err.startswith("toplist: "), err
    assert words in err, err
    assert "Error" not in err, err
    assert "Traceback" not in err


def assert_usage_error(err: str, command: str, words: str) -> None:
    """argparse's usage line of `command`, then the error that says `words`."""
    lines = err.splitlines()
    usage, error = lines[0], lines[-1]
    assert usage.startswith(f"usage: toplist {command} "), err
    assert error.startswith(f"toplist {command}: error: "), err
    assert words in error, err


# --- help ------------------------------------------------------------------


def test_main_help_names_every_subcommand_and_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`toplist --help` exits 0 and lists every subcommand and the exit codes."""
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: toplist ")
    for name in SUBCOMMANDS:
        assert name in out
    assert "exit codes:" in out
    assert "10 some orders refused" in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help(capsys: pytest.CaptureFixture[str], name: str) -> None:
    """`toplist NAME --help` exits 0 with the usage of that subcommand."""
    with pytest.raises(SystemExit) as exited:
        main([name, "--help"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: toplist {name} ")


def test_exit_codes_in_the_help_match_the_table() -> None:
    """Every code of EXIT_CODES is explained in the epilog of --help."""
    explained = {int(code) for code in re.findall(r"(\d+) [a-z]", EPILOG)}
    assert {code for _, code in EXIT_CODES} | {0, 130} == explained


# --- services and balance --------------------------------------------------


def test_services_table(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`services` prints one row per service: id, type, rate, limits, refill/cancel."""
    run = cli(capsys, "--base-url", panels["open"], "--api-key", "k", "services")
    assert (run.code, run.err) == (0, "")
    headers = ["id", "name", "type", "category", "rate", "min", "max"]
    headers += ["refill", "cancel"]
    yes_no = {True: "yes", False: "no"}
    expected = [
        [
            str(s.service),
            s.name,
            s.type,
            s.category,
            str(s.rate),
            str(s.min),
            str(s.max),
            yes_no[s.refill],
            yes_no[s.cancel],
        ]
        for s in DEFAULT_SERVICES
    ]
    assert assert_table_head(run.out, headers) == expected


def test_services_json_keeps_rates_exact(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`services --json` gives rates as strings, so 0.27819 stays exactly that."""
    run = cli(
        capsys, "--base-url", panels["open"], "--api-key", "k", "services", "--json"
    )
    assert run.code == 0
    listed = json.loads(run.out)
    assert [item["service"] for item in listed] == [s.service for s in DEFAULT_SERVICES]
    for item, service in zip(listed, DEFAULT_SERVICES, strict=True):
        assert isinstance(item["rate"], str)
        assert Decimal(item["rate"]) == service.rate
        assert (item["min"], item["max"]) == (service.min, service.max)
        assert item["cancel"] is service.cancel


@pytest.mark.parametrize(
    "words",
    [
        pytest.param(
            ["--json", "--api-key", "{key}", "--base-url", "{url}", "balance"],
            id="options-before",
        ),
        pytest.param(
            ["balance", "--json", "--api-key", "{key}", "--base-url", "{url}"],
            id="options-after",
        ),
        pytest.param(
            ["--api-key", "{key}", "balance", "--base-url", "{url}", "--json"],
            id="options-on-both-sides",
        ),
    ],
)
def test_balance_json_whatever_the_option_order(
    capsys: pytest.CaptureFixture[str],
    panels: dict[str, str],
    words: list[str],
    request: pytest.FixtureRequest,
) -> None:
    """Options work before and after the subcommand; money prints as a string."""
    key = f"key-{request.node.callspec.id}"
    argv = [w.format(key=key, url=panels["open"]) for w in words]
    run = cli(capsys, *argv)
    assert (run.code, run.err) == (0, "")
    assert json.loads(run.out) == {"balance": START_BALANCE, "currency": "USD"}


def test_balance_for_people(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """Without --json `balance` prints the amount and the currency on one line."""
    run = cli(capsys, "balance", "--api-key", "people", "--base-url", panels["open"])
    assert (run.code, run.out, run.err) == (0, f"{START_BALANCE} USD\n", "")


@pytest.mark.parametrize(
    ("env_key", "option_key"),
    [
        pytest.param(API_KEY, None, id="key-from-env"),
        pytest.param("wrong-key", API_KEY, id="option-beats-env"),
    ],
)
def test_environment_variables(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    panels: dict[str, str],
    env_key: str,
    option_key: str | None,
) -> None:
    """$TOPLIST_API_KEY and $TOPLIST_BASE_URL are used; an option overrides them."""
    monkeypatch.setenv("TOPLIST_API_KEY", env_key)
    monkeypatch.setenv("TOPLIST_BASE_URL", panels["locked"])
    argv = ["balance", "--json"]
    if option_key is not None:
        argv += ["--api-key", option_key]
    run = cli(capsys, *argv)
    assert (run.code, run.err) == (0, "")
    assert json.loads(run.out)["currency"] == "USD"


def test_base_url_option_beats_the_environment(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    panels: dict[str, str],
    dead_url: str,
) -> None:
    """--base-url wins over a $TOPLIST_BASE_URL that points nowhere."""
    monkeypatch.setenv("TOPLIST_BASE_URL", dead_url)
    run = cli(capsys, "--base-url", panels["open"], "--api-key", "k", "balance")
    assert (run.code, run.err) == (0, "")


# --- add, status, cancel ----------------------------------------------------


def test_add_prints_the_new_order_id_and_charges_it(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`add` prints the id of an order that exists, priced rate * quantity / 1000."""
    base = ["--base-url", panels["open"], "--api-key", "adder"]
    add = ["add", "--service", "1", "--link", "https://example.com/p/1"]
    first = cli(capsys, *base, *add, "--quantity", "100")
    second = cli(capsys, *base, *add, "--quantity", "250", "--json")
    assert (first.code, first.err, second.code, second.err) == (0, "", 0, "")
    order = int(first.out)
    assert first.out == f"{order}\n"
    assert json.loads(second.out) == order + 1  # a bare number for scripts
    status = json.loads(cli(capsys, *base, "status", str(order), "--json").out)
    assert status[str(order)]["remains"] == 100
    assert Decimal(status[str(order)]["charge"]) == Decimal("1")
    balance = json.loads(cli(capsys, *base, "balance", "--json").out)["balance"]
    assert Decimal(balance) == Decimal(START_BALANCE) - Decimal("1") - Decimal("2.5")


async def test_add_passes_options_and_extra_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--interval, --runs and each --field NAME=VALUE reach the panel as given."""
    panel = FakePanel(speed=0)
    async with panel as url:
        code = await asyncio.to_thread(
            main,
            [
                *("--base-url", url, "--api-key", API_KEY, "add"),
                *("--service", "4", "--link", "https://example.com/p/9"),
                *("--quantity", "3", "--interval", "5", "--runs", "2"),
                *("--field", "comments=nice\nwow", "--field", "note=a=b"),
            ],
        )
    out = capsys.readouterr().out
    assert code == 0
    order = panel.orders[int(out)]
    assert (order.service, order.link, order.quantity) == (
        4,
        "https://example.com/p/9",
        3,
    )
    assert order.extra == {  # form fields, as the wire carries them
        "interval": "5",
        "runs": "2",
        "comments": "nice\nwow",
        "note": "a=b",
    }


async def test_status_shows_what_the_panel_holds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`status` rows and `status --json` carry each order's state, remains, charge."""
    panel = FakePanel(speed=0, seed_orders=5, seed_orders_key=API_KEY)
    base = ["--base-url", "", "--api-key", API_KEY]
    async with panel as url:
        base[1] = url
        ids = ["3", "1", "5", "2", "4", "3"]
        table_code = await asyncio.to_thread(main, [*base, "status", *ids])
        table = capsys.readouterr()
        json_code = await asyncio.to_thread(main, ["status", *ids, *base, "--json"])
        answer = json.loads(capsys.readouterr().out)
    assert (table_code, json_code, table.err) == (0, 0, "")
    printed = assert_table_head(table.out, HEADERS)
    assert [row[0] for row in printed] == ["3", "1", "5", "2", "4"]  # deduplicated
    assert sorted(answer) == ["1", "2", "3", "4", "5"]  # order ids as keys
    for row in printed:
        order = panel.orders[int(row[0])]
        item = answer[row[0]]
        assert row == [row[0], order.status, str(order.remains), item["charge"], "USD"]
        # (the detail column is empty for an answered order, so it is stripped)
        assert isinstance(item["charge"], str)
        assert Decimal(item["charge"]) == order.charge
        assert (item["order_id"], item["remains"]) == (order.id, order.remains)
        assert item["status"] == item["raw_status"] == order.status


HEADERS = ["order", "status", "remains", "charge/refund", "currency", "detail"]


def test_status_with_a_refused_order_prints_the_table_and_exits_10(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`status 1 999`: order 1 is shown, 999 is shown as refused, exit code 10."""
    base = ["--base-url", panels["open"], "--api-key", SEED_KEY]
    run = cli(capsys, *base, "status", "1", "999")
    assert run.code == 10
    assert run.err == "toplist: 1 of 2 orders refused\n"
    printed = assert_table_head(run.out, HEADERS)
    assert [row[0] for row in printed] == ["1", "999"]
    assert printed[0][-1] == "USD"
    assert printed[1][1] == "refused"
    assert "Incorrect order ID" in " ".join(printed[1][2:])
    as_json = cli(capsys, *base, "status", "1", "999", "--json")
    assert as_json.code == 10
    answer = json.loads(as_json.out)
    assert answer["999"] == {"order_id": 999, "error": "Incorrect order ID"}
    assert answer["1"]["order_id"] == 1


def test_cancel_refunds_and_reports_refusals(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`cancel` reports each refund; an order whose service has no cancel exits 10."""
    base = ["--base-url", panels["open"], "--api-key", "canceller"]
    link = ["--link", "https://example.com/p/2"]
    ids = [
        cli(capsys, *base, "add", "--service", "1", *link, "--quantity", "100").out,
        cli(capsys, *base, "add", "--service", "3", *link, "--quantity", "7").out,
        cli(capsys, *base, "add", "--service", "2", *link, "--quantity", "100").out,
    ]
    first, second, no_cancel = (int(i) for i in ids)
    run = cli(
        capsys, *base, "cancel", str(first), str(second), str(no_cancel), "--json"
    )
    assert (run.code, run.err) == (10, "toplist: 1 of 3 orders refused\n")
    answer = json.loads(run.out)
    assert list(answer) == [str(first), str(second), str(no_cancel)]
    assert Decimal(answer[str(first)]["refund"]) == Decimal("1")
    assert Decimal(answer[str(second)]["refund"]) == Decimal("0.08641969")
    assert answer[str(no_cancel)] == {
        "order_id": no_cancel,
        "error": "This service does not support cancel",
    }
    balance = json.loads(cli(capsys, *base, "balance", "--json").out)["balance"]
    assert Decimal(balance) == Decimal(START_BALANCE) - Decimal("0.027819")
    again = cli(capsys, *base, "cancel", str(first))
    assert again.code == 10
    printed = assert_table_head(again.out, HEADERS)
    assert printed[0][:2] == [str(first), "refused"]
    assert "Order already canceled" in " ".join(printed[0][2:])


def test_cancel_table_for_people(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """An accepted cancel shows as `cancel asked` with its refund."""
    base = ["--base-url", panels["open"], "--api-key", "cancel-table"]
    add = ["add", "--service", "1", "--link", "https://x.test/1", "--quantity", "20"]
    order = cli(capsys, *base, *add).out.strip()
    run = cli(capsys, *base, "cancel", order)
    assert (run.code, run.err) == (0, "")
    printed = assert_table_head(run.out, HEADERS)
    assert printed == [[order, "cancel asked", "0.2"]]


# --- failures ----------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    id: str
    panel: str  # a key of PANELS, or "refused" for a port where nothing listens
    words: str  # the command line after --base-url URL --api-key API_KEY
    code: int
    words_said: str  # what the error line says
    retries: int  # waits the retry policy took before giving up


ADD = "add --service 1 --link https://x.test/p --quantity"
FAILURES = [
    Failure("connection-refused", "refused", "balance", 6,
            "could not reach the panel (3 tries)", 2),
    Failure("wrong-key", "locked", "--api-key no balance", 3,
            "the panel refused the API key (HTTP 401); check --api-key or "
            "TOPLIST_API_KEY", 0),
    Failure("wrong-key-status", "locked", "status 1 --api-key no", 3,
            "the panel refused the API key", 0),
    Failure("unknown-service", "open",
            "add --service 99 --link https://x.test/p --quantity 100", 4,
            "the panel refused the request: ", 0),
    Failure("quantity-too-small", "open", f"{ADD} 1", 4, "`toplist services`", 0),
    Failure("quantity-too-large", "open", f"{ADD} 50001", 4, "refused the request",
            0),
    Failure("reserved-field", "open", f"{ADD} 10 --field key=x", 2,
            "cannot be set by the caller", 0),
    Failure("zero-timeout", "open", "--timeout 0 balance", 2,
            "timeout must be a positive number", 0),
    Failure("server-error-500", "faulty", "balance", 7,
            "the panel failed with HTTP 500 (3 tries)", 2),
    Failure("html-page-200", "faulty", "services", 8,
            "the panel's answer could not be read", 2),
    Failure("add-answer-lost", "faulty", f"{ADD} 100", 9,
            "the order may have been placed, but its answer was lost; look for it",
            0),
]  # fmt: skip


@pytest.mark.parametrize("case", FAILURES, ids=[f.id for f in FAILURES])
def test_failure_prints_one_line_and_exits_with_its_code(
    capsys: pytest.CaptureFixture[str],
    panels: dict[str, str],
    dead_url: str,
    sleeps: list[float],
    case: Failure,
) -> None:
    """A failure prints one line in words, with a hint, and its class's exit code."""
    url = dead_url if case.panel == "refused" else panels[case.panel]
    run = cli(capsys, "--base-url", url, "--api-key", API_KEY, *case.words.split())
    assert run.code == case.code
    assert run.out == ""
    assert_one_error_line(run.err, case.words_said)
    assert len(sleeps) == case.retries


@pytest.mark.parametrize(
    ("words", "command", "said"),
    [
        pytest.param("status abc", "status", "positive whole number, not 'abc'",
                     id="bad-order-id"),
        pytest.param("cancel 1 abc", "cancel", "not 'abc'", id="bad-among-good"),
        pytest.param(f"{ADD} 10 --field comments", "add", "--field takes NAME=VALUE",
                     id="field-without-value"),
        pytest.param(f"{ADD} 10 --field link=x", "add", "use --link instead",
                     id="field-for-an-option"),
    ],
)  # fmt: skip
def test_bad_arguments_show_the_usage_line(
    capsys: pytest.CaptureFixture[str],
    panels: dict[str, str],
    words: str,
    command: str,
    said: str,
) -> None:
    """`toplist status abc` shows the command's usage line and exits 2."""
    run = cli(capsys, "--base-url", panels["open"], "--api-key", "k", *words.split())
    assert (run.code, run.out) == (2, "")
    assert_usage_error(run.err, command, said)


def test_usage_errors_are_json_under_json(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """Under --json a usage error is one JSON object on stderr."""
    run = cli(capsys, "--base-url", panels["open"], "--api-key", "k", "status", "x",
              "--json")  # fmt: skip
    assert (run.code, run.out) == (2, "")
    error = json.loads(run.err)["error"]
    assert error["exit_code"] == 2
    assert "not 'x'" in error["message"]


def test_api_errors_are_json_under_json(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """Under --json an API error is one JSON object on stderr, with its hint."""
    url = panels["locked"]
    run = cli(capsys, "--base-url", url, "--api-key", "no", "balance", "--json")
    assert (run.code, run.out) == (3, "")
    assert json.loads(run.err) == {
        "error": {
            "type": "AuthenticationError",
            "message": "the panel refused the API key (HTTP 401)",
            "hint": "check --api-key or TOPLIST_API_KEY",
            "exit_code": 3,
        }
    }


def test_plain_http_refusal_names_the_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A refused http:// URL says `--allow-http`, never the SDK's `allow_http=True`."""
    url = "http://panel.example/api/v2"
    run = cli(capsys, "--base-url", url, "--api-key", "k", "balance")
    assert (run.code, run.out) == (2, "")
    assert "--allow-http" in run.err
    assert "allow_http" not in run.err


def test_no_api_key_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """Without --api-key nor $TOPLIST_API_KEY the command exits 2 and names both."""
    run = cli(capsys, "--base-url", panels["open"], "balance")
    assert (run.code, run.out) == (2, "")
    assert_usage_error(run.err, "balance", "--api-key or set TOPLIST_API_KEY")


def test_exit_code_of_each_error_class() -> None:
    """The first matching class decides: subclasses get their own code."""
    assert exit_code(APITimeoutError("slow", request_sent=True)) == 6
    assert exit_code(InsufficientFundsError("no money", status_code=400)) == 4
    assert exit_code(OrderError(5, "Incorrect order ID")) == 10
    assert exit_code(ToplistError("other")) == 1
    assert exit_code(TypeError("bad id")) == 2


# --- what a terminal sees while the command waits ----------------------------


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_activity_counts_down_a_retry_then_counts_the_wait() -> None:
    """The status line says what it waits for: a retry's countdown, then the panel."""
    clock = Clock()
    activity = Activity("balance", clock=clock)
    assert activity.text() == "balance"
    clock.now += 12.2
    assert activity.text() == "balance, waiting for the panel, 12 s"
    activity.retrying(2.1, "HTTP 429")
    assert activity.text() == "balance: retrying in 2.1 s after HTTP 429"
    clock.now += 1.6
    assert activity.text() == "balance: retrying in 0.5 s after HTTP 429"
    clock.now += 3.5  # the retry left 3 s ago
    assert activity.text() == "balance, waiting for the panel, 3 s"


def test_activity_of_many_items_shows_count_rate_and_time_left() -> None:
    clock = Clock()
    activity = Activity("status", 100, clock=clock)
    clock.now += 2
    for _ in range(20):
        activity.advance()
    assert activity.text() == "status 20/100 (10/s, 8 s left)"


def test_status_command_is_silent_on_a_piped_stderr(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`status` writes nothing to a stderr that is not a terminal."""
    run = cli(
        capsys, "--base-url", panels["open"], "--api-key", SEED_KEY, "status", "1", "2"
    )
    assert (run.code, run.err) == (0, "")


@pytest.mark.parametrize("with_rich", [True, False], ids=["rich", "plain"])
async def test_a_terminal_sees_the_retry_and_the_line_is_cleared(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    with_rich: bool,
) -> None:
    """A 429 shows as `retrying in 1.0 s after HTTP 429`; stdout stays clean."""
    if not with_rich:
        monkeypatch.setattr(_screen, "rich_module", lambda: None)
    monkeypatch.setenv("TERM", "xterm")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)  # after capsys took stderr
    panel = FakePanel(speed=0)
    panel.faults.add("rate_limit", times=1, retry_after=1)
    async with panel as url:
        argv = ["--base-url", url, "--api-key", "k", "balance"]
        code = await asyncio.to_thread(main, argv)
    assert (code, capsys.readouterr().out) == (0, "1000 USD\n")
    drawn = terminal.getvalue()
    assert re.search(r"balance: retrying in (1\.0|0\.9) s after HTTP 429", drawn), drawn
    assert "1000" not in drawn


def test_plain_terminal_line_is_cleared(
    capsys: pytest.CaptureFixture[str],
    panels: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without rich the status line is drawn with \\r and erased at the end."""
    monkeypatch.setattr(_screen, "rich_module", lambda: None)
    stream = Terminal()
    monkeypatch.setattr(sys, "stderr", stream)
    run = cli(
        capsys, "--base-url", panels["open"], "--api-key", SEED_KEY, "status", "1", "2"
    )
    assert run.code == 0
    assert "\r" not in run.out
    drawn = stream.getvalue()
    assert drawn.startswith("\rstatus 0/2")
    assert drawn.endswith("\r\033[K")


# --- real processes ----------------------------------------------------------


def _console_script() -> str:
    script = Path(sys.executable).with_name("toplist")
    assert script.exists(), (
        f"the console script is not installed next to {sys.executable}"
    )
    return str(script)


def _run_process(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=30, env=_clean_env(), check=False
    )


def test_console_script_prints_json(panels: dict[str, str]) -> None:
    """The installed `toplist` script runs a command and exits 0 with JSON on stdout."""
    url = panels["open"]
    done = _run_process(
        _console_script(), *f"balance --json --api-key s --base-url {url}".split()
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"balance": START_BALANCE, "currency": "USD"}


@pytest.mark.parametrize(
    ("panel", "words", "code", "error_class"),
    [
        pytest.param("open", "status 1 999", 10, None, id="order-refused"),
        pytest.param("locked", "--api-key no balance", 3, "refused the API key",
                     id="wrong-key"),
    ],
)  # fmt: skip
def test_python_dash_m_exit_codes(
    panels: dict[str, str],
    panel: str,
    words: str,
    code: int,
    error_class: str | None,
) -> None:
    """`python -m toplist_async` exits with the outcome's code, never a traceback."""
    argv = f"-m toplist_async --api-key {SEED_KEY} --base-url {panels[panel]} {words}"
    done = _run_process(sys.executable, *argv.split())
    assert done.returncode == code
    if error_class is None:
        assert done.stderr == "toplist: 1 of 2 orders refused\n"
        assert "Incorrect order ID" in done.stdout
    else:
        assert done.stdout == ""
        assert_one_error_line(done.stderr, error_class)


def test_usage_error_in_a_process() -> None:
    """A command line argparse cannot read exits 2 with its usage, not a traceback."""
    done = _run_process(sys.executable, "-m", "toplist_async", "status")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: toplist ")
    assert "Traceback" not in done.stderr


def test_fake_panel_command_serves_until_sigterm(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`toplist fake-panel --port 0` prints its URL, answers, exits 0 on SIGTERM."""
    command = "-m toplist_async fake-panel --port 0 --seed-orders 2"
    process = _spawn(*command.split())
    try:
        url = _read_url(process)
        run = cli(
            capsys, *f"--base-url {url} --api-key test-key status 1 2 --json".split()
        )
    finally:
        out, err = _stop(process)
    assert run.code == 0
    assert sorted(json.loads(run.out)) == ["1", "2"]
    assert (process.returncode, out) == (0, "")
    # The banner: any key works, and a command to try that names the URL.
    assert err.splitlines() == [
        "any API key works: each key is an account holding 1000 USD",
        f"try: toplist --base-url {url} --api-key test-key services",
        "stop it with Ctrl-C",
    ]


def test_a_value_spelled_fake_panel_is_not_the_subcommand(
    panels: dict[str, str],
) -> None:
    """`add --link fake-panel` places an order; it does not start a fake panel."""
    argv = f"-m toplist_async --api-key k --base-url {panels['open']} add --service 1"
    done = _run_process(
        sys.executable, *argv.split(), "--link", "fake-panel", "--quantity", "10"
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert int(done.stdout) > 0


def test_a_bad_id_among_good_ones_cancels_nothing(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`cancel ID abc` is a usage error (exit 2) and leaves order ID untouched."""
    base = ["--base-url", panels["open"], "--api-key", "careful"]
    add = ["add", "--service", "1", "--link", "https://x.test/2", "--quantity", "20"]
    order = cli(capsys, *base, *add).out.strip()
    run = cli(capsys, *base, "cancel", order, "abc")
    assert (run.code, run.out) == (2, "")
    assert_usage_error(run.err, "cancel", "not 'abc'")
    status = json.loads(cli(capsys, *base, "status", order, "--json").out)
    assert status[order]["status"] == "pending"


@pytest.mark.parametrize(
    ("panel_balance", "printed"),
    [
        pytest.param("100.84292", "100.84292 USD\n", id="ordinary"),
        pytest.param("0.0000000", "0.0000000 USD\n", id="empty-seven-decimals"),
        pytest.param("0.0000004", "0.0000004 USD\n", id="dust"),
    ],
)
async def test_balance_prints_money_in_plain_notation(
    capsys: pytest.CaptureFixture[str],
    scripted: ScriptedPanel,
    panel_balance: str,
    printed: str,
) -> None:
    """Money is printed as the panel wrote it, never in scientific notation (0E-7)."""

    async def answer(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"balance": panel_balance, "currency": "USD"})

    scripted.handler = answer
    argv = ["--base-url", scripted.base_url, "--api-key", API_KEY, "balance"]
    code = await asyncio.to_thread(main, argv)
    assert (code, capsys.readouterr().out) == (0, printed)


def test_fake_panel_on_a_port_in_use_says_so_in_one_line(
    panels: dict[str, str],
) -> None:
    """A port already taken is one line naming it and --port, not a traceback."""
    port = panels["open"].split(":")[-1].split("/")[0]
    done = _run_process(sys.executable, "-m", "toplist_async", "fake-panel",
                        "--port", port)  # fmt: skip
    assert (done.returncode, done.stdout) == (1, "")
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr


def test_fake_panel_log_prints_each_request(capsys: pytest.CaptureFixture[str]) -> None:
    """`fake-panel --log` writes one line per request it serves to stderr."""
    process = _spawn(*["-m", "toplist_async", "fake-panel", "--port", "0", "--log"])
    try:
        url = _read_url(process)
        base = ["--base-url", url, "--api-key", "k"]
        assert cli(capsys, *base, "balance").code == 0
        assert cli(capsys, *base, "status", "7").code == 10
        assert process.stderr is not None
        lines = [process.stderr.readline() for _ in range(5)][3:]  # banner first
    finally:
        _stop(process)
    assert lines == ["balance ids=- -> 200\n", "status ids=7 -> 200\n"]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`toplist --version` prints the package's version."""
    run = cli(capsys, "--version")
    assert (run.code, run.out) == (0, f"toplist {toplist_async.__version__}\n")


def test_subcommand_help_leaves_global_options_to_the_main_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`add --help` explains each of its options; global ones are in `--help` only."""
    add_help = cli(capsys, "add", "--help").out
    for option, words in [
        ("--service ID", "(required)"),
        ("--link URL", "the page, post or profile"),
        ("--quantity N", "min and max"),
        ("--interval MINUTES", "minutes between two runs"),
        ("--runs N", "how many runs"),
    ]:
        line = next(line for line in add_help.splitlines() if f"  {option}  " in line)
        assert words in line, line
    assert "--api-key" not in add_help
    assert "--api-key" in cli(capsys, "--help").out


def test_verbose_logs_retries(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`-v` prints each retry in words on stderr, the result still on stdout."""
    run = cli(capsys, "-v", "--base-url", panels["faulty"], "--api-key", "k",
              "balance")  # fmt: skip
    assert run.code == 7
    retries = [line for line in run.err.splitlines() if "retrying in" in line]
    assert len(retries) == 2, run.err
    assert "balance: retrying in" in retries[0]
    assert "after HTTP 500 (attempt 2 of 3)" in retries[0]


def test_toplist_log_environment_switch_logs_the_sdk(panels: dict[str, str]) -> None:
    """TOPLIST_LOG=info makes the SDK itself log its retries, in any program."""
    program = (
        "import asyncio, sys, toplist_async\n"
        "async def main():\n"
        "    async with toplist_async.ToplistClient('k', base_url=sys.argv[1]) as c:\n"
        "        try: await c.balance()\n"
        "        except toplist_async.InternalServerError: pass\n"
        "asyncio.run(main())\n"
    )
    env = {**_clean_env(), "TOPLIST_LOG": "info"}
    done = subprocess.run(
        [sys.executable, "-c", program, panels["faulty"]],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("balance: retrying in") == 2, done.stderr
    assert " INFO toplist_async] " in done.stderr


# --- hostile panel text ------------------------------------------------------


@pytest.mark.parametrize(
    ("panel_balance", "printed"),
    [
        pytest.param("1e999999999999999999", "1E+999999999999999999 USD\n",
                     id="exponent-too-big-for-memory"),
        pytest.param("1e200000000", "1E+200000000 USD\n", id="a-200-MB-line"),
        pytest.param("123456789.5", "123456789.5 USD\n", id="ordinary-stays-plain"),
    ],
)  # fmt: skip
async def test_huge_money_is_shown_bounded_and_exact(
    capsys: pytest.CaptureFixture[str],
    scripted: ScriptedPanel,
    panel_balance: str,
    printed: str,
) -> None:
    """Money past a sane width prints in exact scientific form, for people and JSON."""

    async def answer(request: web.Request, body: dict[str, Any]) -> web.Response:
        return web.json_response({"balance": panel_balance, "currency": "USD"})

    scripted.handler = answer
    argv = ["--base-url", scripted.base_url, "--api-key", API_KEY, "balance"]
    code = await asyncio.to_thread(main, argv)
    assert (code, capsys.readouterr().out) == (0, printed)
    code = await asyncio.to_thread(main, [*argv, "--json"])
    answer_ = json.loads(capsys.readouterr().out)
    assert code == 0
    assert Decimal(answer_["balance"]) == Decimal(panel_balance)
    assert len(answer_["balance"]) < 40


HOSTILE = "\x1b[2J\x1b]52;c;ZXZpbA==\x07\x1b[31mred\u202etxt\r\nnext"


@pytest.mark.parametrize("with_rich", [True, False], ids=["rich", "plain"])
async def test_panel_text_cannot_steer_the_terminal(
    capsys: pytest.CaptureFixture[str],
    scripted: ScriptedPanel,
    monkeypatch: pytest.MonkeyPatch,
    with_rich: bool,
) -> None:
    """Escape sequences in names and errors are shown escaped, never sent raw."""
    if not with_rich:
        monkeypatch.setattr(_screen, "rich_module", lambda: None)
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich draws as on a terminal
    service = {"service": 1, "name": HOSTILE, "type": "Default", "category": HOSTILE,
               "rate": "1", "min": 1, "max": 10}  # fmt: skip

    async def answer(request: web.Request, body: dict[str, Any]) -> web.Response:
        if body["action"] == "services":
            return web.json_response([service])
        return web.json_response({"error": HOSTILE}, status=400)

    scripted.handler = answer
    base = ["--base-url", scripted.base_url, "--api-key", API_KEY]
    assert await asyncio.to_thread(main, [*base, "services"]) == 0
    listed = capsys.readouterr().out
    code = await asyncio.to_thread(main, [*base, "balance"])
    refused = capsys.readouterr().err
    assert code == 4
    for text in (listed, refused):
        assert "\x1b]" not in text
        assert "\x1b[2J" not in text
        assert "\x07" not in text
        assert "\u202e" not in text
    assert "\\x1b]52;c;ZXZpbA==\\x07" in refused
    assert "\\x1b[2J" in re.sub(r"\x1b\[[0-9;]*m|\s|│|┃", "", listed)


def test_a_closed_pipe_exits_quietly(panels: dict[str, str]) -> None:
    """`toplist services | head -1`: no BrokenPipeError traceback."""
    toplist = _console_script()
    url = panels["open"]
    done = subprocess.run(
        f"{toplist} --base-url {url} --api-key k services | head -c 10",
        shell=True, capture_output=True, text=True, timeout=30, env=_clean_env(),
        check=False,
    )  # fmt: skip
    assert done.stderr == ""
    assert done.stdout == "id  name  "[:10]


def test_demo_runs_without_rich(tmp_path: Path) -> None:
    """Without the `cli` extra the demo still runs, in plain text."""
    program = (
        "import sys; sys.modules['rich'] = None\n"
        "from toplist_async.cli import main\n"
        "raise SystemExit(main(['demo', '--orders', '10', '--no-faults']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True, text=True, timeout=60, env=_clean_env(), check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("toplist demo: a local FakePanel")
    assert "orders placed          10" in done.stdout


async def test_interrupting_a_sent_add_says_the_order_may_exist(
    scripted: ScriptedPanel,
) -> None:
    """Ctrl-C while an add is at the panel: the order may exist, and how to check."""
    arrived, released = asyncio.Event(), asyncio.Event()

    async def never(request: web.Request, body: dict[str, Any]) -> web.Response:
        arrived.set()
        await released.wait()  # the answer never comes while the test runs
        return web.json_response({"order": 1})

    scripted.handler = never
    process = await asyncio.create_subprocess_exec(
        _console_script(), "--base-url", scripted.base_url, "--api-key", "k",
        "add", "--service", "1", "--link", "https://x.test/1", "--quantity", "10",
        stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        env=_clean_env(),
    )  # fmt: skip
    try:
        await asyncio.wait_for(arrived.wait(), 30)
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 30)
    finally:
        released.set()
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert (process.returncode, out) == (130, b"")
    assert b"it may have been placed" in err
    assert b"toplist status" in err
    assert b"Traceback" not in err


# --- watch -------------------------------------------------------------------


async def test_watch_json_prints_one_line_per_update_until_final() -> None:
    """`watch --json` prints JSON lines until every order is final; ids from stdin."""
    panel = FakePanel(speed=0, seed_orders=3, seed_orders_key=API_KEY)
    async with panel as url:
        process = await asyncio.create_subprocess_exec(
            _console_script(), "--base-url", url, "--api-key", API_KEY, "watch",
            "--json", "--poll", "0.05",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=_clean_env(),
        )  # fmt: skip
        assert process.stdout is not None
        assert process.stdin is not None
        process.stdin.write(b"1,2\n999\n")
        process.stdin.close()
        first = [json.loads(await process.stdout.readline()) for _ in range(3)]
        panel.advance(10**6)  # every order runs to its end
        rest, err = await asyncio.wait_for(process.communicate(), 30)
    updates = first + [json.loads(line) for line in rest.splitlines()]
    assert process.returncode == 10  # order 999 is refused
    assert err.decode() == "toplist: 1 of 3 orders refused\n"
    assert {u["order_id"] for u in updates} == {1, 2, 999}
    assert [u for u in updates if "error" in u] == [
        {"order_id": 999, "error": "Incorrect order ID"}
    ]
    last = {u["order_id"]: u for u in updates if "error" not in u}
    assert {u["status"] for u in last.values()} <= {"completed", "partial", "canceled"}


def test_watch_without_ids_on_a_terminal_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal())
    run = cli(capsys, "--api-key", "k", "watch")
    assert run.code == 2
    assert_usage_error(run.err, "watch", "pipe them in")


async def test_watch_prints_a_line_per_finished_order_when_piped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    panel = FakePanel(speed=0, seed_orders=2, seed_orders_key=API_KEY)
    panel.advance(10**6)
    async with panel as url:
        argv = ["--base-url", url, "--api-key", API_KEY, "watch", "1", "2"]
        code = await asyncio.to_thread(main, argv)
    out = capsys.readouterr().out
    assert code == 0
    lines = rows(out)
    assert sorted(line[0] for line in lines) == ["1", "2"]
    for line in lines:
        assert line[1] == panel.orders[int(line[0])].status


async def test_a_timeout_says_how_long_and_how_many_tries(
    capsys: pytest.CaptureFixture[str], scripted: ScriptedPanel, gate: asyncio.Event
) -> None:
    """A panel that never answers: the error gives the timeout and the tries."""

    async def never(request: web.Request, body: dict[str, Any]) -> web.Response:
        await gate.wait()
        return web.json_response({})

    scripted.handler = never
    argv = ["--base-url", scripted.base_url, "--api-key", "k", "--timeout", "0.2"]
    code = await asyncio.to_thread(main, [*argv, "balance"])
    err = capsys.readouterr().err
    assert code == 6
    assert_one_error_line(
        err,
        "toplist: no answer from the panel within 0.2 s (3 tries); check "
        "--base-url, or allow more time with --timeout",
    )
