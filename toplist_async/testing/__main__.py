"""`python -m toplist_async.testing`: serve a fake panel until interrupted."""

from __future__ import annotations

from ._runner import run

if __name__ == "__main__":
    raise SystemExit(run())
