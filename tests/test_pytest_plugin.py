"""The pytest plugin: `fake_panel` and `toplist_client` in a user's own test run."""

from __future__ import annotations

import subprocess
import sys

import pytest

USER_TESTS = """
import pytest
from decimal import Decimal

from toplist_async import InsufficientFundsError

{mark}
async def test_an_order_runs_to_its_end(toplist_client, fake_panel):
    order = await toplist_client.add(service=1, link="https://x.test/1", quantity=100)
    fake_panel.advance(10**6)
    status = await toplist_client.status(order)
    assert status.is_final
    assert fake_panel.orders[order].quantity == 100


{mark}
@pytest.mark.toplist_panel(balance=Decimal("0.5"))
async def test_the_marker_configures_the_panel(toplist_client):
    with pytest.raises(InsufficientFundsError):
        await toplist_client.add(service=1, link="https://x.test/1", quantity=100)


{mark}
@pytest.mark.toplist_panel(api_key="only-this-key", seed_orders=2)
async def test_the_client_uses_the_panels_key(toplist_client, fake_panel):
    assert sorted(await toplist_client.status_many([1, 2])) == [1, 2]
"""


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_fixtures_work_in_a_users_test_run(
    pytester: pytest.Pytester, mode: str
) -> None:
    """A user's tests get a started FakePanel and a client bound to it."""
    mark = "@pytest.mark.asyncio" if mode == "strict" else ""
    pytester.makepyfile(test_user=USER_TESTS.format(mark=mark))
    result = pytester.runpytest_subprocess(
        "-o", f"asyncio_mode={mode}",
        "-o", "asyncio_default_fixture_loop_scope=function",
        "--strict-markers", "-W", "error", "-p", "no:cacheprovider",
    )  # fmt: skip
    result.assert_outcomes(passed=3)


def test_the_plugin_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user="def test_x(fake_panel): pass\n")
    result = pytester.runpytest_subprocess("-p", "no:toplist_async")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'fake_panel' not found*"])


def test_loading_the_plugin_imports_nothing_of_the_sdk() -> None:
    """pytest loads the plugin in every run; it must not import aiohttp and co."""
    probe = (
        "import sys, _toplist_async_pytest\n"
        "print(sorted(m for m in ('toplist_async', 'aiohttp', 'msgspec') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert done.stdout == "[]\n"
