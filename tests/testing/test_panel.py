"""The panel object: lifecycle, the request log, and keeping the key secret."""

from __future__ import annotations

import inspect
import logging

import pytest

import toplist_async.testing as testing
from toplist_async.testing import FakePanel

from .conftest import KEY, Serve

SECRET = "sk-live-DO-NOT-LOG-9b1e"


def test_all_is_sorted_and_complete() -> None:
    """`__all__` names every public name exactly once (ruff keeps it sorted)."""
    public = {
        name
        for name, value in vars(testing).items()
        if not name.startswith("_") and not inspect.ismodule(value)  # aiogram_session
    } - {"annotations"}
    assert set(testing.__all__) == public
    assert len(testing.__all__) == len(public)


async def test_context_manager_yields_the_base_url() -> None:
    """`async with` starts on 127.0.0.1 with a free port and yields the URL."""
    panel = FakePanel()
    with pytest.raises(RuntimeError, match="not started"):
        panel.base_url  # noqa: B018
    async with panel as base_url:
        assert base_url == panel.base_url
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/api/v2")
        with pytest.raises(RuntimeError, match="already started"):
            await panel.start()
    await panel.stop()
    panel.advance(1)
    # The panel can start again after a stop, keeping its state.
    assert (await panel.start()).startswith("http://127.0.0.1:")
    assert panel.clock == pytest.approx(1, abs=0.5)
    await panel.stop()


def test_bad_options_are_refused() -> None:
    """Unknown dialect names and impossible numbers fail at construction."""
    with pytest.raises(ValueError, match="status_style"):
        FakePanel(status_style="shouty")
    with pytest.raises(ValueError, match="foreign_order_mode"):
        FakePanel(foreign_order_mode="sometimes")
    with pytest.raises(ValueError, match="rate_limit"):
        FakePanel(rate_limit=0)
    with pytest.raises(ValueError, match="speed"):
        FakePanel(speed=-1)
    with pytest.raises(ValueError, match="bad fault"):
        FakePanel(faults="explode")
    with pytest.raises(ValueError, match="does not accept"):
        FakePanel(api_key="a").balance("b")


async def test_request_log_and_counts(serve: Serve) -> None:
    """Each request is logged with action, ids, status, fault and account."""
    panel, api = await serve()
    await api.add()
    await api.call("status", orders="1,2,x")
    await api.call("balance", key="")
    await api.call("status", key="other", orders="1")
    actions = [(r.action, r.orders, r.status, r.fault) for r in panel.requests]
    assert actions == [
        ("add", (1,), 200, None),
        ("status", (1, 2), 200, None),
        ("balance", (), 401, None),
        ("status", (1,), 403, None),
    ]
    assert panel.requests[0].account == panel.account_id(KEY)
    assert panel.requests[2].account is None
    assert panel.requests[3].account != panel.requests[0].account
    assert (panel.count("status"), panel.count("add"), panel.count("cancel")) == (
        2,
        1,
        0,
    )
    times = [r.at for r in panel.requests]
    assert times == sorted(times)
    panel.requests.clear()
    assert panel.count("add") == 0


async def test_the_key_never_shows(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the log, records, orders, reprs nor Python logging hold the key."""
    caplog.set_level(logging.DEBUG)
    panel, api = await serve(api_key=SECRET, rate_limit=100)
    panel.faults.add("truncated", times=1, action="balance")
    for bearer in (False, True):
        await api.call(
            "add", key=SECRET, bearer=bearer, service=1, link="x", quantity=10
        )
        await api.call("status", key=SECRET, bearer=bearer, orders="1,2")
        await api.call("cancel", key=SECRET, bearer=bearer, orders="2")
        await api.call("balance", key=SECRET, bearer=bearer)
        await api.call("balance", key=SECRET + "x", bearer=bearer)
    assert panel.count("add") == 2
    seen = [
        repr(panel),
        repr(panel.requests),
        repr(dict(panel.orders)),
        repr(list(panel.faults)),
        caplog.text,
    ]
    for text in seen:
        assert SECRET not in text
    assert all("key" not in order.extra for order in panel.orders.values())
