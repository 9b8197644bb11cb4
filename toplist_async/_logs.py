"""The SDK's logger, and `TOPLIST_LOG=debug|info` to print it (like `OPENAI_LOG`)."""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["StderrHandler", "logger", "setup_logging"]

logger = logging.getLogger("toplist_async")
FORMAT = "[%(asctime)s %(levelname)s %(name)s] %(message)s"
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO}


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (tests swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass  # always the current sys.stderr


_handler: logging.Handler | None = None


def setup_logging(level: str | None = None) -> None:
    """
    Print the SDK's log to stderr at `level` (`"debug"` or `"info"`; default:
    `$TOPLIST_LOG`). Retries and 429 pauses are logged at INFO, each request at
    DEBUG. Without either nothing is printed and the application's own logging
    configuration decides. Calling it again only changes the level.
    """
    global _handler
    name = (level or os.environ.get("TOPLIST_LOG", "")).strip().lower()
    if name not in _LEVELS:
        return
    if _handler is None:
        _handler = StderrHandler()
        _handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(_handler)
    logger.setLevel(_LEVELS[name])
