"""
What a fresh connection per `add` costs, against keep-alive, on loopback.

What it measures. The client sends `add` and `cancel` each on a new
connection, closed after the answer, so a stray answer left on an idle
keep-alive connection can never be read as theirs. A fake panel (`python -m
toplist_async.testing`, clock frozen) runs in another process; two variants
place orders on it:

- `fresh`: a default `ToplistClient` (its mutation pool never reuses a
  connection);
- `keepalive`: the same client given an `aiohttp.ClientSession` with a default
  keep-alive connector, so every add reuses a pooled connection (the behaviour
  before the change, and what a caller's own session gets).

Two shapes per variant: `sequential` awaits K adds one after the other (the
latency a single caller sees, per add), `burst` gathers B concurrent adds
(the cost per add at throughput). Variants run interleaved in each round (the
first rotating), figures are medians over rounds, the ratio is the median of
per-round ratios. A TLS part times fresh handshakes to a local TLS server
(certificate made with the `openssl` command; skipped without it): what an
`https` panel adds per fresh connection on top, at zero network latency, with
both ends' work in this process. Over a network each fresh connection also
costs one round trip for TCP and one for TLS 1.3.

    .venv/bin/python -m benchmarks.bench_fresh_connection [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp

from toplist_async import ToplistClient

from ._common import (
    PanelProcess,
    base_parser,
    median,
    paired_median_ratio,
    positive_int,
    print_table,
    report,
    rotated,
    run,
    write_json,
)

NAME = "bench_fresh_connection"
PACKAGES = ("toplist_async", "aiohttp")
VARIANTS = ("fresh", "keepalive")
LINK = "https://example.com/post/1"


async def _sequential(client: ToplistClient, k: int) -> float:
    started = time.perf_counter()
    for _ in range(k):
        await client.add(service=1, link=LINK, quantity=100)
    return (time.perf_counter() - started) / k


async def _burst(client: ToplistClient, b: int) -> float:
    started = time.perf_counter()
    await asyncio.gather(
        *(client.add(service=1, link=LINK, quantity=100) for _ in range(b))
    )
    return (time.perf_counter() - started) / b


async def run_http(
    args: argparse.Namespace, url: str
) -> dict[str, dict[str, list[float]]]:
    samples: dict[str, list[float]] = {
        f"{v}/{shape}": [] for v in VARIANTS for shape in ("seq", "burst")
    }
    session = aiohttp.ClientSession()  # default connector: keep-alive, 100
    clients = {
        "fresh": ToplistClient("test-key", base_url=url, timeout=30),
        "keepalive": ToplistClient(
            "test-key", base_url=url, timeout=30, session=session
        ),
    }
    try:
        for index in range(args.warmup + args.rounds):
            for variant in rotated(VARIANTS, index):
                client = clients[variant]
                seq = await _sequential(client, args.k)
                burst = await _burst(client, args.b)
                if index >= args.warmup:
                    samples[f"{variant}/seq"].append(seq)
                    samples[f"{variant}/burst"].append(burst)
    finally:
        for client in clients.values():
            await client.aclose()
        await session.close()
    return {"samples": samples}


def _certificate(workdir: Path) -> tuple[Path, Path] | None:
    if shutil.which("openssl") is None:
        return None
    key, cert = workdir / "key.pem", workdir / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


async def run_tls(args: argparse.Namespace, key: Path, cert: Path) -> list[float]:
    """Seconds per fresh TLS connection (TCP connect + handshake), per round."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    client_context.check_hostname = False

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    per_round: list[float] = []
    try:
        for index in range(args.warmup + args.rounds):
            started = time.perf_counter()
            for _ in range(args.k):
                _, writer = await asyncio.open_connection(
                    "127.0.0.1", port, ssl=client_context
                )
                writer.close()
                await writer.wait_closed()
            if index >= args.warmup:
                per_round.append((time.perf_counter() - started) / args.k)
    finally:
        server.close()
        await server.wait_closed()
    return per_round


def main(argv: Sequence[str] | None = None) -> int:
    def options(parser: argparse.ArgumentParser) -> None:
        add = parser.add_argument
        add("--k", type=positive_int, default=300, help="sequential adds per sample")
        add("--b", type=positive_int, default=1_000, help="concurrent adds per sample")

    args = base_parser(NAME, __doc__, rounds=7, extra=options).parse_args(argv)
    panel = PanelProcess("--speed", "0", "--balance", "1000000000")
    with panel as url:
        http = run(run_http(args, url), args)
    samples = http["samples"]
    with tempfile.TemporaryDirectory() as workdir:
        pair = _certificate(Path(workdir))
        tls = run(run_tls(args, *pair), args) if pair is not None else None

    rows = []
    figures: dict[str, object] = {}
    for shape, label in (("seq", "sequential"), ("burst", "burst")):
        fresh, keep = samples[f"fresh/{shape}"], samples[f"keepalive/{shape}"]
        ratio = paired_median_ratio(fresh, keep)
        extra = median(f - k for f, k in zip(fresh, keep, strict=True))
        rows.append(
            [
                label,
                f"{median(keep) * 1e6:.0f}",
                f"{median(fresh) * 1e6:.0f}",
                f"{extra * 1e6:+.0f}",
                f"{ratio:.2f}x",
            ]
        )
        figures[label] = {
            "keepalive_us_per_add": median(keep) * 1e6,
            "fresh_us_per_add": median(fresh) * 1e6,
            "extra_us_per_add": extra * 1e6,
            "ratio": ratio,
            "samples": {"fresh": fresh, "keepalive": keep},
        }
    print_table(
        "µs per add on loopback http (medians); fresh = a new connection per add",
        ["shape", "keepalive", "fresh", "fresh - keepalive", "ratio"],
        rows,
    )
    if tls is not None:
        print_table(
            "fresh TLS connection on loopback (TCP connect + handshake, both ends)",
            ["µs per connection (median)"],
            [[f"{median(tls) * 1e6:.0f}"]],
        )
        figures["tls_handshake_us"] = {"median": median(tls) * 1e6, "samples": tls}
    write_json(args.json, report(NAME, args, PACKAGES, **figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
