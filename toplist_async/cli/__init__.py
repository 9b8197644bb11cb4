"""
The `toplist` command line: every action, a fake panel and a demo.

Kept apart from the SDK: nothing in `toplist_async` imports this package.
"""

from __future__ import annotations

from ._app import EXIT_CODES, main

__all__ = ["EXIT_CODES", "main"]
