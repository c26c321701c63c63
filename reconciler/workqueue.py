"""An asyncio work queue of FluxConfig keys: deduplicated, never one key twice at once, delayed
retries with exponential backoff.

kopf event handlers and timers ``add`` keys; the reconciler's workers ``get``
them and call ``done``. A key added while queued merges into the queued item
(a full reconcile absorbs a status-only refresh); a key added while being
worked on is queued again when the worker is done, so no event is lost and no
two workers touch the same FluxConfig. Used by ``reconciler.operator``; no I/O.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass
class Backoff:
    """Exponential backoff per key: ``base * 2**failures`` up to ``cap`` seconds."""

    base: float = 0.5
    cap: float = 60.0
    failures: dict[Hashable, int] = field(default_factory=dict)

    def next(self, key: Hashable) -> float:
        """Count a failure of ``key``; the delay before its retry."""
        count = self.failures.get(key, 0)
        self.failures[key] = count + 1
        return float(min(self.cap, self.base * (2**count)))

    def reset(self, key: Hashable) -> None:
        """``key`` succeeded: its next failure starts from ``base`` again."""
        self.failures.pop(key, None)


class WorkQueue(Generic[K]):
    """Keys to work on, each with a ``full`` flag (True: full reconcile; False: status only)."""

    def __init__(self) -> None:
        self._ready: asyncio.Queue[K] = asyncio.Queue()
        self._pending: dict[K, bool] = {}
        self._processing: set[K] = set()
        self._timers: dict[K, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, key: K, *, full: bool = True, delay: float = 0.0) -> None:
        """Queue ``key`` now or after ``delay`` seconds (an earlier pending retry wins)."""
        if delay > 0:
            loop = asyncio.get_running_loop()
            timer = self._timers.get(key)
            due = loop.time() + delay
            if timer is not None and not timer.cancelled() and timer.when() <= due:
                return
            if timer is not None:
                timer.cancel()
            self._timers[key] = loop.call_at(due, self._fire, key, full)
            return
        self._enqueue(key, full)

    def _fire(self, key: K, full: bool) -> None:
        self._timers.pop(key, None)
        self._enqueue(key, full)

    def _enqueue(self, key: K, full: bool) -> None:
        if key in self._pending:
            self._pending[key] = self._pending[key] or full
            return
        self._pending[key] = full
        if key not in self._processing:
            self._ready.put_nowait(key)

    async def get(self) -> tuple[K, bool]:
        """The next key and its ``full`` flag; the key stays reserved until ``done``."""
        while True:
            key = await self._ready.get()
            if key in self._processing or key not in self._pending:
                continue
            full = self._pending.pop(key)
            self._processing.add(key)
            return key, full

    def done(self, key: K) -> None:
        """The worker is finished with ``key``; requeue it if it was added meanwhile."""
        self._processing.discard(key)
        if key in self._pending:
            self._ready.put_nowait(key)

    def forget(self, key: K) -> None:
        """Drop a scheduled retry of ``key`` (it was deleted)."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        """Cancel every scheduled retry."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
