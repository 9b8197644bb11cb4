"""`python -m toplist_async.testing` and the functions behind it."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from toplist_async import ToplistClient
from toplist_async.testing import FakePanel, run, serve_forever


async def test_module_runner_serves_until_sigterm() -> None:
    """The runner prints one line with its URL, answers, and exits on SIGTERM."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "toplist_async.testing",
        "--port",
        "0",
        "--numbers-as-strings",
        "--seed-orders",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=10)
        prefix = b"listening on http://127.0.0.1:"
        assert line.startswith(prefix), line
        url = line.decode().split()[-1]
        assert url.endswith("/api/v2")
        assert int(url.rsplit(":", 1)[1].split("/")[0]) > 0
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                url, data={"key": "test-key", "action": "status", "orders": "1"}
            ) as response,
        ):
            body = await response.json()
        assert response.status == 200
        assert isinstance(body["1"]["remains"], str)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        rest, errors = await asyncio.wait_for(process.communicate(), timeout=10)
    assert process.returncode == 0, errors
    assert rest == b""
    # stderr has the banner only: any key works, and a command to try.
    assert errors.decode().splitlines() == [
        "any API key works: each key is an account holding 1000 USD",
        f"try: toplist --base-url {url} --api-key test-key services",
        "stop it with Ctrl-C",
    ]


async def test_serve_forever_announces_and_stops_on_cancel() -> None:
    """serve_forever writes the line, serves, and stops the panel when cancelled."""
    panel = FakePanel()
    out = io.StringIO()
    task = asyncio.create_task(serve_forever(panel, out=out))
    for _ in range(100):
        if out.getvalue():
            break
        await asyncio.sleep(0.01)
    assert out.getvalue() == f"listening on {panel.base_url}\n"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(RuntimeError, match="not started"):
        panel.base_url  # noqa: B018


def test_run_rejects_a_bad_fault_spec(capsys: pytest.CaptureFixture[str]) -> None:
    """A bad --faults spec is a usage error naming the problem."""
    with pytest.raises(SystemExit) as exited:
        run(["--faults", "explode:1"], prog="toplist fake-panel")
    assert exited.value.code == 2
    error = capsys.readouterr().err
    assert "toplist fake-panel" in error
    assert "unknown fault kind 'explode'" in error


async def test_serve_forever_reports_requests_on_exit(tmp_path: Path) -> None:
    """With `report`, the requests per action and the orders held are written."""
    panel = FakePanel()
    report = tmp_path / "served.json"
    out = io.StringIO()
    task = asyncio.create_task(serve_forever(panel, out=out, report=report))
    for _ in range(100):
        if out.getvalue():
            break
        await asyncio.sleep(0.01)
    async with ToplistClient("test-key", base_url=panel.base_url) as client:
        await client.add(service=1, link="https://example.com/p/1", quantity=100)
        await client.balance()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert json.loads(report.read_text()) == {
        "requests": 2,
        "requests_per_action": {"add": 1, "balance": 1},
        "orders": 1,
    }
