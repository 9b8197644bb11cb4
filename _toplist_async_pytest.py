"""
The pytest plugin of toplist_async: `fake_panel` and `toplist_client` fixtures.

    async def test_order(toplist_client, fake_panel):
        order = await toplist_client.add(service=1, link="https://x", quantity=100)
        fake_panel.advance(3600)
        assert (await toplist_client.status(order)).is_final

`@pytest.mark.toplist_panel(faults="server_error:0.2", balance=Decimal(5))` passes
its keywords to the `FakePanel`. The fixtures need pytest-asyncio (any mode).

This module sits outside the package so that pytest, which loads it in every
run wherever toplist_async is installed, does not import the SDK (aiohttp, ...)
until a test asks for a fixture. `-p no:toplist_async` turns it off.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from toplist_async import ToplistClient
    from toplist_async.testing import FakePanel


_KEY = "test-key"  # FakePanel opens an account for any key


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "toplist_panel(**options): FakePanel options for the fake_panel fixture "
        "(faults=..., seed=..., balance=..., speed=...)",
    )


def _panel_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    # The closest marker wins: apply the module's and class's first.
    for marker in reversed(list(request.node.iter_markers("toplist_panel"))):
        options.update(marker.kwargs)
    return options


if importlib.util.find_spec("pytest_asyncio") is None:  # the fixtures say so

    @pytest.fixture
    def fake_panel() -> None:
        pytest.fail("the fake_panel fixture needs pytest-asyncio: pip install it")

    @pytest.fixture
    def toplist_client() -> None:
        pytest.fail("the toplist_client fixture needs pytest-asyncio: pip install it")

else:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def fake_panel(  # type: ignore[misc]  # the other branch's stand-in
        request: pytest.FixtureRequest,
    ) -> AsyncIterator[FakePanel]:
        """A started `FakePanel` on 127.0.0.1 (options: `toplist_panel` marker)."""
        from toplist_async.testing import FakePanel

        panel = FakePanel(**_panel_options(request))
        async with panel:
            yield panel

    @pytest_asyncio.fixture
    async def toplist_client(  # type: ignore[misc]  # the other branch's stand-in
        fake_panel: FakePanel, request: pytest.FixtureRequest
    ) -> AsyncIterator[ToplistClient]:
        """A `ToplistClient` bound to `fake_panel` (key `test-key`), closed after."""
        from toplist_async import ToplistClient

        key = _panel_options(request).get("api_key") or _KEY
        async with ToplistClient(key, base_url=fake_panel.base_url) as client:
            yield client
