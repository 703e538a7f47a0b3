"""The lock a process holds on a run folder while it writes it: two writers never mix one folder.

The lock is ``<run>/.lock``, a file holding the writer's pid, host, command and start time,
with an exclusive ``flock`` on it for as long as the writer lives. The kernel drops the
``flock`` when the process ends, however it ends, so a lock file left by a killed process
is stale by construction: the next writer takes it over (and says so). The pid and host in
the file are what a second writer is told; they are not what decides, so a pid reused by
another program cannot keep a folder locked.

A second writer gets :class:`RunLockedError` (a :class:`~genlab.errors.GenlabError`: one
line, exit 2) naming the holder and how to proceed.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

from genlab.errors import GenlabError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; the pid check below still runs
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"


class RunLockedError(GenlabError):
    """Another live process writes this run folder."""


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def read_holder(path: Path) -> dict:
    """What a lock file says about its writer ({} if it says nothing readable)."""
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return d if isinstance(d, dict) else {}


def _describe(h: dict) -> str:
    if not h:
        return "another process (that is starting)"
    return f"pid {h.get('pid', '?')} on host {h.get('host', '?')} (since {h.get('time', '?')})"


class RunLock:
    """``with RunLock(folder): ...`` holds the folder's lock; the folder must exist."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        self.took_over: dict | None = None  # the stale holder replaced, if any

    def acquire(self) -> RunLock:
        host = socket.gethostname()
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                h = self._holder(host)
                raise RunLockedError(
                    f"{self.folder} is being written by {_describe(h)}; wait for it to finish (or stop it), "
                    "or choose another --out") from None
            # The holder before us may have removed the file after we opened it: lock the file at the path.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            break
        old = read_holder(self.path)
        if old and fcntl is None and old.get("host") == host and pid_alive(int(old.get("pid", -1))):
            os.close(fd)  # pragma: no cover - no flock: fall back to the pid
            raise RunLockedError(f"{self.folder} is being written by {_describe(old)}; wait for it, or choose another --out")
        if old:
            self.took_over = old
        me = {"pid": os.getpid(), "host": host, "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[:300]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        self._fd = fd
        return self

    def _holder(self, host: str) -> dict:
        # The holder writes its pid just after it locks: a file still naming nobody, or the dead
        # writer the holder is taking over from, is read again for a moment.
        for _ in range(20):
            h = read_holder(self.path)
            if h and (h.get("host") != host or pid_alive(int(h.get("pid", -1)))):
                return h
            time.sleep(0.05)
        return h

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # unlink while still locked: the next writer re-checks the path
        finally:
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


__all__ = ["LOCK_NAME", "RunLock", "RunLockedError", "pid_alive", "read_holder"]
