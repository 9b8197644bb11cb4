"""A throwaway `redis-server` on a unix socket, for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ._child_server import ChildServer

__all__ = ["RedisServer"]


class RedisServer(ChildServer):
    """
    `redis-server --port 0 --unixsocket <tmp>/redis.sock --save ''` while entered.

    Nothing is written to disk and no TCP port is opened; `url` is the
    `unix://` address once started. `args` are added to the command line
    (for example `"--appendonly", "yes"`). Stopping kills the server and
    removes its directory.
    """

    def __init__(self, *args: str, executable: str = "redis-server") -> None:
        self.args = args
        self.executable = executable
        self.url = ""
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The server's process id (to freeze it with SIGSTOP in a test)."""
        if self._process is None:
            msg = "the Redis server is not running"
            raise RuntimeError(msg)
        return self._process.pid

    def start(self, timeout: float = 10.0) -> str:
        """Start the server and wait until it answers PING; return its URL."""
        path = shutil.which(self.executable)
        if path is None:
            msg = f"no {self.executable} (Debian: apt-get install -y redis-server)"
            raise RuntimeError(msg)
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="toplist-redis-"))
        sock = self._dir / "redis.sock"
        command = [path, "--port", "0", "--unixsocket", str(sock), "--save", ""]
        command += ["--dir", str(self._dir), "--daemonize", "no", *self.args]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while not _answers_ping(sock):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                msg = f"{self.executable} did not start within {timeout:g} s"
                raise RuntimeError(msg)
            time.sleep(0.005)
        self.url = f"unix://{sock}"
        return self.url

    def restart(self, timeout: float = 10.0) -> str:
        """
        Shut the server down as an operator would (SIGTERM), then start it again.

        Its directory stays, so what it persisted (`"--appendonly", "yes"`) is
        loaded back; the URL does not change.
        """
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            process.wait(timeout)
        return self.start(timeout)

    def stop(self) -> None:
        """Kill the server (thawing it first if frozen) and remove its directory."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGCONT)
                process.kill()
            process.wait()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _answers_ping(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as probe:
            probe.settimeout(1.0)
            probe.connect(str(path))
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False
