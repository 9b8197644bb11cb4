"""The README's code stays true: its FakePanel example runs as written."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

README = Path(__file__).parent.parent / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


async def test_testing_section_example_runs() -> None:
    """The "Testing your code" example passes against a real FakePanel."""
    (block,) = [code for code in _python_blocks() if "FakePanel" in code]
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    tests = [v for k, v in namespace.items() if k.startswith("test_")]
    assert len(tests) == 1
    await tests[0]()


def test_every_python_block_compiles() -> None:
    """Every Python block of the README is valid Python (top-level await allowed)."""
    blocks = _python_blocks()
    assert len(blocks) >= 4
    for block in blocks:
        compile(block, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _console_commands() -> list[str]:
    return [
        block.strip()
        for block in re.findall(r"```console\n(.*?)```", README.read_text(), flags=re.S)
    ]


def test_ci_runs_a_new_users_first_two_commands() -> None:
    """The README's first command runs in CI as written (a fresh copy, no extras);
    its second (install the test extra, run pytest) is what CI itself does."""
    first, second = _console_commands()[:2]
    ci = (README.parent / ".ci" / "run").read_text()
    assert first.endswith("pip install -e . && .venv/bin/toplist demo")
    assert "readme_command.py 1" in ci
    assert "pip install -e '.[test]'" in second
    assert second.endswith("-m pytest")
    assert "pip install --quiet -e '.[test]'" in ci
    assert '"$venv/bin/python" -m pytest' in ci
