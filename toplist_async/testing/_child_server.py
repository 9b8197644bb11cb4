"""A server run in a child process for the length of a `with` block."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType

__all__ = ["ChildServer"]


class ChildServer(ABC):
    """Entering starts the server and returns its URL; leaving stops it."""

    @abstractmethod
    def start(self) -> str:
        """Start the server, wait until it is ready and return its URL."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the server and clean up after it; a stopped server is left as is."""

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
