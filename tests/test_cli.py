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

from tests.conftest import API_KEY, ScriptedPanel
from toplist_async import (
    APITimeoutError,
    InsufficientFundsError,
    OrderError,
    ToplistError,
)
from toplist_async.cli._app import _EPILOG, EXIT_CODES, _exit_code, main
from toplist_async.cli._progress import Progress
from toplist_async.testing import DEFAULT_SERVICES, FakePanel

SEED_KEY = "seed-owner-key"
START_BALANCE = "1234.5"
SUBCOMMANDS = ("services", "balance", "add", "status", "cancel", "demo", "fake-panel")
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
    code = main(list(argv))
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


def assert_one_error_line(err: str, error_class: str) -> None:
    assert err.endswith("\n")
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"toplist: error: {error_class}: "), err
    assert "Traceback" not in err


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
    explained = {int(code) for code in re.findall(r"(\d+) [a-z]", _EPILOG)}
    assert {code for _, code in EXIT_CODES} | {0} == explained


# --- services and balance --------------------------------------------------


def test_services_table(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`services` prints one row per service with its id, rate, limits and cancel."""
    run = cli(capsys, "--base-url", panels["open"], "--api-key", "k", "services")
    assert (run.code, run.err) == (0, "")
    headers = ["id", "name", "category", "rate", "min", "max", "cancel"]
    expected = [
        [
            str(s.service),
            s.name,
            s.category,
            str(s.rate),
            str(s.min),
            str(s.max),
            str(s.cancel),
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
    assert order.extra == {
        "interval": 5,
        "runs": 2,
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
    error_class: str
    retries: int  # waits the retry policy took before giving up


ADD = "add --service 1 --link https://x.test/p --quantity"
FAILURES = [
    Failure("connection-refused", "refused", "balance", 6, "APIConnectionError", 2),
    Failure("wrong-key", "locked", "--api-key no balance", 3, "AuthenticationError", 0),
    Failure("wrong-key-status", "locked", "status 1 --api-key no", 3,
            "AuthenticationError", 0),
    Failure("unknown-service", "open",
            "add --service 99 --link https://x.test/p --quantity 100", 4,
            "BadRequestError", 0),
    Failure("quantity-too-small", "open", f"{ADD} 1", 4, "BadRequestError", 0),
    Failure("quantity-too-large", "open", f"{ADD} 50001", 4, "BadRequestError", 0),
    Failure("bad-order-id", "open", "status abc", 2, "ValueError", 0),
    Failure("bad-order-id-among-good", "open", "cancel 1 abc", 2, "ValueError", 0),
    Failure("field-without-value", "open", f"{ADD} 10 --field comments", 2,
            "ValueError", 0),
    Failure("reserved-field", "open", f"{ADD} 10 --field key=x", 2, "ValueError", 0),
    Failure("zero-timeout", "open", "--timeout 0 balance", 2, "ValueError", 0),
    Failure("server-error-500", "faulty", "balance", 7, "InternalServerError", 2),
    Failure("html-page-200", "faulty", "services", 8, "ResponseValidationError", 2),
    Failure("add-answer-lost", "faulty", f"{ADD} 100", 9, "OrderOutcomeUnknown", 0),
]  # fmt: skip


@pytest.mark.parametrize("case", FAILURES, ids=[f.id for f in FAILURES])
def test_failure_prints_one_line_and_exits_with_its_code(
    capsys: pytest.CaptureFixture[str],
    panels: dict[str, str],
    dead_url: str,
    sleeps: list[float],
    case: Failure,
) -> None:
    """A failure prints exactly one `toplist: error:` line and its class's exit code."""
    url = dead_url if case.panel == "refused" else panels[case.panel]
    run = cli(capsys, "--base-url", url, "--api-key", API_KEY, *case.words.split())
    assert run.code == case.code
    assert run.out == ""
    assert_one_error_line(run.err, case.error_class)
    assert len(sleeps) == case.retries


def test_no_api_key_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """Without --api-key nor $TOPLIST_API_KEY the command exits 2 and names both."""
    run = cli(capsys, "--base-url", panels["open"], "balance")
    assert (run.code, run.out) == (2, "")
    assert_one_error_line(run.err, "ValueError")
    assert "TOPLIST_API_KEY" in run.err


def test_exit_code_of_each_error_class() -> None:
    """The first matching class decides: subclasses get their own code."""
    assert _exit_code(APITimeoutError("slow", request_sent=True)) == 6
    assert _exit_code(InsufficientFundsError("no money", status_code=400)) == 4
    assert _exit_code(OrderError(5, "Incorrect order ID")) == 10
    assert _exit_code(ToplistError("other")) == 1
    assert _exit_code(TypeError("bad id")) == 2


# --- progress bar ------------------------------------------------------------


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_not_a_terminal() -> None:
    """A Progress on a stream that is not a terminal writes nothing at all."""
    stream = io.StringIO()
    progress = Progress("status", 3, stream=stream)
    for _ in range(3):
        progress.advance()
    progress.close()
    assert stream.getvalue() == ""


def test_progress_draws_on_a_terminal() -> None:
    """On a terminal the bar is drawn, ends full at total/total, and is cleared."""
    stream = Terminal()
    progress = Progress("status", 4, stream=stream)
    for _ in range(4):
        progress.advance()
    drawn_before_close = stream.getvalue()
    progress.close()
    frames = drawn_before_close.split("\r")[1:]
    assert frames[0] == "status [" + "#" * 7 + " " * 23 + "] 1/4"
    assert frames[-1] == "status [" + "#" * 30 + "] 4/4"
    assert stream.getvalue() == drawn_before_close + "\r\033[K"


def test_status_command_is_silent_on_a_piped_stderr(
    capsys: pytest.CaptureFixture[str], panels: dict[str, str]
) -> None:
    """`status` writes nothing to a stderr that is not a terminal."""
    run = cli(
        capsys, "--base-url", panels["open"], "--api-key", SEED_KEY, "status", "1", "2"
    )
    assert (run.code, run.err) == (0, "")


def test_status_command_draws_progress_on_a_terminal(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    panels: dict[str, str],
) -> None:
    """On a terminal `status` draws its bar on stderr and clears it; stdout is clean."""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    run = cli(
        capsys, "--base-url", panels["open"], "--api-key", SEED_KEY, "status", "1", "2"
    )
    assert run.code == 0
    assert "\r" not in run.out
    drawn = terminal.getvalue()
    assert drawn.startswith("\rstatus [")
    assert "] 2/2" in drawn
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
        pytest.param("locked", "--api-key no balance", 3, "AuthenticationError",
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
    assert (process.returncode, out, err) == (0, "", "")


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
    assert_one_error_line(run.err, "ValueError")
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
