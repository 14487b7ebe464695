"""Worker processes end when the process that started them dies.

A ProcessPoolExecutor worker blocks on its call queue, whose write end it holds itself, so a
kill -9 of the command (or of the app) leaves it, and a forkserver that waits for it, asleep
for good. ``die_with(pid)``, run in the worker (a pool initializer), watches that process from
a daemon thread and ends the worker when it is gone.
"""
from __future__ import annotations

import os
import select
import threading
import time


def pool_options() -> dict:
    """ProcessPoolExecutor arguments that tie its workers' lives to this process."""
    return {"initializer": die_with, "initargs": (os.getpid(),)}


def die_with(pid: int) -> None:
    """End this process as soon as process ``pid`` (alive now) has exited."""
    try:
        fd = os.pidfd_open(pid)                 # Linux 5.3+: readable once pid exits
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        fd = None
    threading.Thread(target=_watch, args=(pid, fd), name="lifeline", daemon=True).start()


def _watch(pid: int, fd: int | None) -> None:
    if fd is not None:
        select.select([fd], [], [])
    else:
        while _alive(pid):
            time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:         # alive, owned by someone else
        pass
    return True
