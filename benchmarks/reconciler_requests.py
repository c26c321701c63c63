"""Benchmark companion: the API requests the reconciler makes per configuration, by verb and kind.

Latency is round trips (issue 14), so this counts them: a fresh local control
plane, the reconciler in this process (``reconciler.runner.ReconcilerThread``,
default options but a quick Lease), and a hook on lightkube's HTTP clients
(``httpx2.Client.send`` / ``AsyncClient.send``) that counts every request
by who sent it (a reconcile worker, or the leader election) and what it was
(``GET secrets``, ``PATCH fluxconfigs/status`` …). kopf's own watch streams
(aiohttp) are not counted: they are per kind, not per configuration.

- **change**: ``--configs`` configurations reconciled, then ``--samples`` of them
  changed one at a time (new branch and paths), each waited for until its
  status shows the new generation: requests per change.
- **cold start**: the reconciler stopped, every configuration changed, a new
  reconciler started: requests per configuration until every status shows it.

The floor is what ``benchmarks.reconciler`` compares with: one server-side
apply per rendered object (6 here). Run: ``.venv/bin/python -m
benchmarks.reconciler_requests [--configs 20] [--samples 10]``.
"""

from __future__ import annotations

import argparse
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2

from benchmarks.reconciler import LEASE_NAMESPACE, Bench
from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.local.controlplane import ControlPlane
from reconciler.options import ReconcilerOptions
from reconciler.runner import ReconcilerThread

_PATH = re.compile(
    r"^/(?:api/v1|apis/[^/]+/[^/]+)(?:/namespaces/[^/]+)?/(?P<kind>[a-z0-9.-]+)"
    r"(?:/[^/?]+)?(?P<sub>/status)?"
)


def what(request: httpx2.Request) -> str:
    """``VERB kind[/status]`` of an API request (``APPLY``: a server-side apply patch)."""
    match = _PATH.match(request.url.path)
    kind = (match.group("kind") + (match.group("sub") or "")) if match else request.url.path
    verb = request.method
    if verb == "PATCH" and "apply-patch" in request.headers.get("content-type", ""):
        verb = "APPLY"
    return f"{verb} {kind}"


class Counts:
    """Requests by (who, what); ``who`` is ``election`` for the reconciler's event loop thread
    (the elector's client), ``worker`` for its worker threads and the threads they start; the
    benchmark's own requests (main thread) are not counted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.on = False

    def record(self, request: httpx2.Request) -> None:
        """Count one request (while ``on``)."""
        if not self.on:
            return
        name = threading.current_thread().name
        if name.startswith("reconciler-"):  # the ReconcilerThread's event loop
            who = "election"
        elif name.startswith(("reconciler_", "ThreadPoolExecutor")):  # workers and their pools
            who = "worker"
        else:  # this benchmark's own requests
            return
        with self.lock:
            self.counts[who, what(request)] += 1

    @contextmanager
    def measuring(self) -> Iterator[Counter[tuple[str, str]]]:
        """Count from now until the block ends; yields the counter (filled at the end)."""
        result: Counter[tuple[str, str]] = Counter()
        with self.lock:
            self.counts.clear()
        self.on = True
        try:
            yield result
        finally:
            self.on = False
            with self.lock:
                result.update(self.counts)


@contextmanager
def hooked(counts: Counts) -> Iterator[None]:
    """Count every request lightkube's sync and async clients send."""
    sync_send, async_send = httpx2.Client.send, httpx2.AsyncClient.send

    def send(self: httpx2.Client, request: httpx2.Request, **kwargs: Any) -> Any:
        counts.record(request)
        return sync_send(self, request, **kwargs)

    async def asend(self: httpx2.AsyncClient, request: httpx2.Request, **kwargs: Any) -> Any:
        counts.record(request)
        return await async_send(self, request, **kwargs)

    httpx2.Client.send = send  # type: ignore[method-assign]
    httpx2.AsyncClient.send = asend  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx2.Client.send = sync_send  # type: ignore[method-assign]
        httpx2.AsyncClient.send = async_send  # type: ignore[method-assign]


def observed(bench: Bench, namespace: str, name: str, generation: int) -> bool:
    """True once FluxConfig ``namespace/name`` shows ``generation`` as observed."""
    body = bench.admin.get(bench.fluxconfig, name, namespace=namespace).to_dict()
    return int((body.get("status") or {}).get("observedGeneration") or 0) >= generation


def wait(what: str, probe: Callable[[], bool], timeout: float = 120.0) -> None:
    """Poll ``probe`` every 20 ms until true."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def report(
    title: str, counts: Counter[tuple[str, str]], per: int, out: Callable[[str], None]
) -> None:
    """Requests per configuration, by who and what."""
    workers = sum(n for (who, _), n in counts.items() if who == "worker")
    out(f"{title}: {workers / per:.2f} requests per configuration from the workers")
    for (who, verb), n in sorted(counts.items()):
        out(f"  {who:>8} {verb:<32} {n:>6}  ({n / per:.2f} per configuration)")


def run(configs: int, samples: int, out: Callable[[str], None]) -> None:
    """Both measurements, printed."""
    counts = Counts()
    with ControlPlane() as plane, hooked(counts):
        bench = Bench(plane, workers=4)
        ensure_namespace(bench.admin, LEASE_NAMESPACE)
        options = ReconcilerOptions(
            kubeconfig=str(plane.kubeconfig),
            lease_namespace=LEASE_NAMESPACE,
            lease_name="requests",
            identity="requests",
        )
        thread = ReconcilerThread(options).start()
        try:
            wait("leading", lambda: thread.leading)
            bench.grow(configs)
            time.sleep(1.0)
            with counts.measuring() as changed:
                for n in range(samples):
                    i = (n * 7919) % configs
                    version = bench.versions[i] + 1
                    raw = bench.apply(i, version)
                    live = bench.admin.get(
                        bench.fluxconfig, raw["name"], namespace=raw["namespace"]
                    )
                    gen = int(live.metadata.generation or 0)
                    ns, name = raw["namespace"], raw["name"]
                    wait(name, lambda: observed(bench, ns, name, gen))  # noqa: B023
                    time.sleep(0.3)  # the status write after the applies
            report(f"change → applied, {samples} changes", changed, samples, out)
        finally:
            thread.stop()
        for i in range(configs):
            bench.apply(i, bench.versions[i] + 1)
        with counts.measuring() as cold:
            thread = ReconcilerThread(options).start()
            try:
                wait("leading", lambda: thread.leading)
                bench.wait_reconciled(configs)
                time.sleep(1.0)
            finally:
                thread.stop()
        report(f"cold start, {configs} changed configurations", cold, configs, out)


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=20)
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args(argv)
    run(args.configs, args.samples, lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
