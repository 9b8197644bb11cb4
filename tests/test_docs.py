"""The docs' code stays true: every Python block compiles, the testing page's runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


@pytest.mark.parametrize("page", sorted(DOCS.rglob("*.md")), ids=lambda p: p.name)
def test_every_python_block_compiles(page: Path) -> None:
    for block in _python_blocks(page):
        compile(block, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


async def test_the_testing_pages_first_example_passes() -> None:
    """The FakePanel example of docs/testing.md passes as written."""
    block = _python_blocks(DOCS / "testing.md")[0]
    namespace: dict[str, Any] = {}
    exec(compile(block, "testing.md", "exec"), namespace)
    (test,) = [v for k, v in namespace.items() if k.startswith("test_")]
    await test()


def test_every_page_is_in_the_nav() -> None:
    """mkdocs.yml lists every page (strict builds only warn on omitted files)."""
    nav = (DOCS.parent / "mkdocs.yml").read_text()
    for page in DOCS.rglob("*.md"):
        assert str(page.relative_to(DOCS)) in nav, page
