"""
Where the command writes: results on stdout, waiting and errors on stderr.

With the `cli` extra (rich) a terminal gets tables that fold, colour, spinners
and progress with rate and ETA; without it, or through a pipe, plain text.
A pipe or a file never gets a spinner, a bar or an escape sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from ._output import cell, table

__all__ = ["Activity", "Screen", "rich_module"]

_REFRESH = 0.25  # seconds between two redraws of a status line


def rich_module() -> ModuleType | None:
    """`rich` if the `cli` extra is installed, else None (plain output)."""
    try:
        import rich.console
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] != "rich":
            raise
        return None
    return rich


class Activity:
    """
    What the command is waiting for, as one line on a terminal's stderr.

    Shows `label: waiting for the panel, 12 s`, or, after the SDK logs a retry,
    `label: retrying in 2.1 s after HTTP 429` counting down; `done`/`total`
    make it a progress line.
    """

    def __init__(
        self, label: str, total: int = 0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.changed = asyncio.Event()
        self._clock = clock
        self._started = self._since = clock()
        self._retry: tuple[float, str] | None = None  # (until, reason)

    def retrying(self, wait: float, reason: str) -> None:
        """Show a countdown to the next attempt (fed by the SDK's INFO log)."""
        self._retry = (self._clock() + wait, reason)
        self.changed.set()

    def advance(self) -> None:
        """Count one more item done."""
        self.done += 1
        self._since = self._clock()

    def text(self) -> str:
        """The line as it reads now."""
        now = self._clock()
        counted = f" {self.done}/{self.total}" if self.total else ""
        rate = self.done / (now - self._started) if self.done else 0.0
        if rate and self.done < self.total:
            left = (self.total - self.done) / rate
            counted += f" ({rate:.0f}/s, {left:.0f} s left)"
        if self._retry is not None:
            until, reason = self._retry
            if until > now:
                left = max(until - now, 0.1)  # never "retrying in 0.0 s"
                return f"{self.label}{counted}: retrying in {left:.1f} s after {reason}"
            self._since, self._retry = until, None
        waited = now - self._since
        wait = f", waiting for the panel, {waited:.0f} s" if waited >= 1 else ""
        return f"{self.label}{counted}{wait}"


class _RetryFeed(logging.Handler):
    """Turns the SDK's retry log records into the activity's countdown."""

    def __init__(self, activity: Activity) -> None:
        super().__init__(logging.INFO)
        self._activity = activity

    def emit(self, record: logging.LogRecord) -> None:
        wait = getattr(record, "toplist_wait", None)
        reason = getattr(record, "toplist_reason", None)
        if isinstance(wait, float) and isinstance(reason, str):
            self._activity.retrying(wait, reason)


class Screen:
    """The command's output: rich when installed and useful, plain otherwise."""

    def __init__(self, *, use_rich: bool = True) -> None:
        self.rich = rich_module() if use_rich else None
        self._out: Any = None
        self._err: Any = None
        if self.rich is not None:
            from rich.console import Console

            self._out = Console(file=sys.stdout, highlight=False, soft_wrap=False)
            self._err = Console(file=sys.stderr, highlight=False)
            self.live = self._err.is_terminal and not self._err.is_dumb_terminal
        else:
            self.live = sys.stderr.isatty()

    def result(self, text: str) -> None:
        """Print a result line to stdout, as is (already made safe)."""
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        *,
        numeric: Sequence[str] = (),
        title: str | None = None,
    ) -> None:
        """A table: rich on a terminal (numbers right-aligned), plain columns else."""
        if self._out is None or not self._out.is_terminal:
            sys.stdout.write(table(headers, rows) + "\n")
            sys.stdout.flush()
            return
        self._out.print(self._grid(headers, rows, numeric, title))

    def _grid(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        numeric: Sequence[str],
        title: str | None = None,
    ) -> Any:
        from rich.table import Table
        from rich.text import Text

        grid = Table(title=title, header_style="bold", title_justify="left")
        for header in headers:
            if header in numeric:
                grid.add_column(header, justify="right", overflow="fold")
            else:
                grid.add_column(header, overflow="fold")
        for row in rows:
            grid.add_row(*(Text(cell(value)) for value in row))
        return grid

    def row(self, row: Sequence[object]) -> None:
        """One row of a table printed as it comes (pipes and plain terminals)."""
        self.result("  ".join(cell(value) for value in row).rstrip())

    @contextmanager
    def live_table(
        self, headers: Sequence[str], numeric: Sequence[str]
    ) -> Iterator[Callable[[Sequence[Sequence[object]], str], None] | None]:
        """
        A table redrawn in place on a terminal with rich: yields `update(rows,
        caption)`, or None where it cannot be drawn (a pipe, no rich).
        """
        if self._out is None or not self._out.is_terminal:
            yield None
            return
        from rich.live import Live

        with Live(console=self._out, auto_refresh=False) as live:

            def update(rows: Sequence[Sequence[object]], caption: str) -> None:
                live.update(self._grid(headers, rows, numeric, caption), refresh=True)

            yield update

    def error(self, text: str) -> None:
        """One line on stderr, in red on a terminal that takes colour."""
        if self._err is not None:
            from rich.text import Text

            self._err.print(Text(text, style="red"), soft_wrap=True)
        else:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    @contextmanager
    def feed(self, activity: Activity) -> Iterator[None]:
        """While inside, the SDK's retries show on `activity`."""
        sdk = logging.getLogger("toplist_async")
        handler = _RetryFeed(activity)
        level = sdk.level
        if not sdk.isEnabledFor(logging.INFO):
            sdk.setLevel(logging.INFO)
        sdk.addHandler(handler)
        try:
            yield
        finally:
            sdk.removeHandler(handler)
            sdk.setLevel(level)

    async def show(self, activity: Activity) -> None:
        """Draw `activity` until cancelled, then clear it (terminal stderr only)."""
        if not self.live:
            await asyncio.Event().wait()
        if self._err is not None:
            await self._show_rich(activity)
        else:
            await self._show_plain(activity)

    async def _show_plain(self, activity: Activity) -> None:
        try:
            while True:
                sys.stderr.write(f"\r{_fit(activity.text())}\033[K")
                sys.stderr.flush()
                activity.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(activity.changed.wait(), _REFRESH)
        finally:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    async def _show_rich(self, activity: Activity) -> None:
        from rich.live import Live
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

        columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
        if activity.total:
            columns.insert(1, BarColumn())
        bar = Progress(*columns, console=self._err, transient=True)
        task = bar.add_task(activity.text(), total=activity.total or None)
        # Redrawn here, not by rich's thread: a retry shows the moment it is logged.
        with Live(bar, console=self._err, transient=True, auto_refresh=False) as live:
            while True:
                bar.update(task, description=activity.text(), completed=activity.done)
                live.refresh()
                activity.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(activity.changed.wait(), _REFRESH / 2)


def _fit(text: str) -> str:
    """Cut a status line to the terminal's width so `\\r` can overwrite it."""
    import shutil

    width = shutil.get_terminal_size().columns - 1
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
