"""Run a ``Reconciler`` in a background thread with its own event loop, and stop it cleanly.

For the tests and the benchmark (in-process, against the local control plane)
and anything else that needs the operator next to other work; the CLI runs it
in the main thread instead. ``with ReconcilerThread(options) as r:`` starts it,
waits until kopf is up, and stops it on exit (setting kopf's stop flag).
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from reconciler.operator import Reconciler
from reconciler.options import ReconcilerOptions


class ReconcilerThread:
    """A reconciler running in a daemon thread until ``stop``."""

    def __init__(self, options: ReconcilerOptions, *, start_timeout: float = 30.0) -> None:
        self.reconciler = Reconciler(options)
        self.start_timeout = start_timeout
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._main, name=f"reconciler-{options.identity}", daemon=True
        )

    def _main(self) -> None:
        try:
            asyncio.run(self.reconciler.run(stop_flag=self._stop, ready_flag=self._ready))
        except BaseException as exc:  # reported by stop()
            self._error = exc
        finally:
            self._ready.set()

    def start(self) -> ReconcilerThread:
        """Start the thread and wait until the operator has started."""
        self._thread.start()
        if not self._ready.wait(self.start_timeout):
            raise TimeoutError(f"the reconciler did not start within {self.start_timeout:.0f}s")
        if self._error is not None:
            raise RuntimeError(f"the reconciler failed to start: {self._error!r}") from self._error
        return self

    @property
    def leading(self) -> bool:
        """True while this reconciler holds the Lease."""
        return self.reconciler.leading.is_set()

    def stop(self, timeout: float = 30.0) -> None:
        """Set the stop flag and wait for the thread; re-raise what made the operator fail."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the reconciler did not stop within {timeout:.0f}s")
        if self._error is not None:
            raise RuntimeError(f"the reconciler failed: {self._error!r}") from self._error

    def __enter__(self) -> ReconcilerThread:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
