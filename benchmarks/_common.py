"""
Helpers the benchmark scripts share: the panel subprocess, timing, tables, JSON.

Nothing here measures anything by itself. The conventions every script follows:
variants run interleaved within each round (round-robin, the first one rotating
from round to round), a warm-up round is discarded, a figure is the median of
the rounds, and ratios are medians of per-round ratios of figures taken in the
same run (never against numbers from another run or machine).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from toplist_async.testing._child_server import ChildServer

__all__ = [
    "RESULTS_DIR",
    "GcTimer",
    "PanelProcess",
    "Timing",
    "base_parser",
    "exponent",
    "loop_name",
    "machine_facts",
    "median",
    "paired_median_ratio",
    "parse_sizes",
    "positive_int",
    "print_table",
    "report",
    "rotated",
    "run",
    "settle_gc",
    "summary",
    "timed",
    "verdict",
    "write_json",
]

T = TypeVar("T")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_READY_PREFIX = "listening on "


# --- the panel in another process ------------------------------------------


class PanelProcess(ChildServer):
    """
    `python -m toplist_async.testing` in a child process, as a context manager.

    Entering starts it and returns the base URL it announces on its first line;
    leaving sends SIGTERM (SIGKILL if it does not exit) and waits for it.
    """

    def __init__(self, *args: str, startup_timeout: float = 20.0) -> None:
        self.args = ["--port", "0", *args]
        self.startup_timeout = startup_timeout
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> str:
        command = [sys.executable, "-m", "toplist_async.testing", *self.args]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True
        )
        self._process = process
        assert process.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                msg = (
                    f"the panel did not announce itself within {self.startup_timeout}s"
                )
                raise RuntimeError(msg)
            readable, _, _ = select.select([process.stdout], [], [], left)
            if not readable:
                continue
            line = process.stdout.readline()
            if not line:
                code = process.wait()
                msg = f"the panel exited with code {code} before listening"
                raise RuntimeError(msg)
            if line.startswith(_READY_PREFIX):
                self.base_url = line[len(_READY_PREFIX) :].strip()
                return self.base_url

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


# --- rounds, timing, statistics ----------------------------------------------


def rotated(items: Sequence[T], round_index: int) -> list[T]:
    """`items` in round-robin order, starting one further along each round."""
    if not items:
        return []
    shift = round_index % len(items)
    return [*items[shift:], *items[:shift]]


def settle_gc() -> None:
    """Collect garbage left by the previous sample so it is not billed to the next."""
    gc.collect()


class GcTimer:
    """
    Time spent in the cyclic garbage collector while entered (`gc.callbacks`).

    By the wall clock unless another `clock` is given: `time.process_time` reads
    the CPU the collections used, which a busy machine does not inflate.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._clock = clock
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = self._clock()
        else:
            self.seconds += self._clock() - self._started
            self.collections += 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        gc.callbacks.remove(self._callback)


@dataclass(frozen=True, slots=True)
class Timing:
    """One sample: wall time, this process's CPU time, and the GC's share of it."""

    wall: float
    cpu: float
    gc: float
    collections: int


async def timed(work: Callable[[], Awaitable[T]]) -> tuple[T, Timing]:
    """
    Await `work()` and time it, after collecting the previous sample's garbage.

    The collector stays enabled, as in a real program; the time it takes during
    the sample is reported apart (`Timing.gc`), not subtracted.
    """
    settle_gc()
    with GcTimer() as collector:
        cpu = time.process_time()
        started = time.perf_counter()
        result = await work()
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return result, Timing(wall, cpu, collector.seconds, collector.collections)


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def summary(samples: Sequence[float]) -> dict[str, Any]:
    """Median, min, max and every sample (in run order)."""
    return {
        "median": median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": list(samples),
    }


def paired_median_ratio(
    numerators: Sequence[float], denominators: Sequence[float]
) -> float:
    """Median of the per-round ratios of two variants measured in the same rounds."""
    return median(n / d for n, d in zip(numerators, denominators, strict=True))


def exponent(sizes: Sequence[int], times: Sequence[float]) -> float:
    """Growth exponent between the smallest and largest size: 1 linear, 2 quadratic."""
    return math.log(times[-1] / times[0]) / math.log(sizes[-1] / sizes[0])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- reporting ---------------------------------------------------------------


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").rstrip("x%"))
    except ValueError:
        return False
    return True


def print_table(
    title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Print an aligned table: numbers right-aligned, text left-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i and _is_number(cell) else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        return "  ".join(parts).rstrip()

    print()
    print(title)
    print(line(headers))
    print("  ".join("-" * width for width in widths))
    for row in cells:
        print(line(row))


def machine_facts(packages: Iterable[str] = ()) -> dict[str, Any]:
    """What the figures depend on: interpreter, CPUs, platform, package versions."""
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    versions: dict[str, str | None] = {}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version,
        "cpu_model": _cpu_model(),
        "implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "load_average_1_5_15_min": _load_average(),
        "gc_thresholds": gc.get_threshold(),
        "packages": versions,
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or None


def _load_average() -> list[float] | None:
    """Other work on the machine when the run ended: it shares the cores."""
    try:
        return [round(load, 2) for load in os.getloadavg()]
    except OSError:
        return None


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Write `payload` as indented JSON, creating the directory if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nwrote {path}")


def report(
    name: str,
    args: argparse.Namespace,
    packages: Iterable[str],
    **sections: Any,
) -> dict[str, Any]:
    """The JSON document of one run: when, where, with which parameters, and figures."""
    return {
        "benchmark": name,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_facts(packages),
        "parameters": {
            key: value for key, value in vars(args).items() if key != "json"
        },
        **sections,
    }


# --- command line --------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    """Parse `5000,10000,20000` into sorted, distinct positive ints."""
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        msg = f"not a comma-separated list of integers: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not sizes or sizes[0] < 1:
        msg = f"sizes must be positive integers: {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return sizes


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        msg = f"must be >= 1, not {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        msg = f"must be >= 0, not {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


def run(main: Coroutine[Any, Any, T], args: argparse.Namespace) -> T:
    """Run `main` on a new event loop: asyncio's own, or uvloop's with `--uvloop`."""
    if not args.uvloop:
        return asyncio.run(main)
    import uvloop  # the bench extra only

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def loop_name(args: argparse.Namespace) -> str:
    return "uvloop" if args.uvloop else "asyncio"


def base_parser(
    name: str,
    doc: str | None,
    *,
    rounds: int,
    extra: Callable[[argparse.ArgumentParser], None],
) -> argparse.ArgumentParser:
    """The options every benchmark has: --rounds, --warmup, --json, --uvloop."""
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{name}",
        description=(doc or "").strip().splitlines()[0] if doc else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--rounds",
        type=positive_int,
        default=rounds,
        help="timed rounds; figures are medians",
    )
    parser.add_argument(
        "--warmup",
        type=_non_negative_int,
        default=1,
        help="untimed rounds run first and discarded",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS_DIR / f"{name}.json",
        help="where to write the figures",
    )
    parser.add_argument(
        "--uvloop",
        action="store_true",
        help="run on uvloop's event loop (pip install -e '.[bench]')",
    )
    extra(parser)
    return parser
