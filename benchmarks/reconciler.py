"""Benchmark: the reconciler on a real control plane, against a bare apply loop in the same run.

A fresh local control plane (etcd + kube-apiserver) and the reconciler as its
own process (``python -m reconciler run``, as the image runs it), so its RSS
is its own. Configurations are ``benchmarks.render.raw_configuration`` (HTTPS
Git with a token, three chained Kustomizations: 6 objects to apply each),
applied the way the provider applies them (FluxConfig + its Secret).

- **latency**: a FluxConfig change (new source branch, new Kustomization
  paths) → every Flux object carries it, seen through a watch; p50 / p95 at
  1, 100 and 500 configurations in the cluster. Measured from the moment the
  FluxConfig write returned.
- **drift heal**: a generated Kustomization deleted, or edited, by hand → back.
- **cold start**: the reconciler stopped, all 500 FluxConfigs changed, the
  reconciler started: time until every status shows the new generation (seen
  through a FluxConfig watch, ``Reconciled``; the recorder's watches are closed
  first, as the floor's objects have no watcher).
- **RSS** of the reconciler process (``VmRSS``, and the peak ``VmHWM``): idle (leading, no
  configuration), at each size, and after the cold start.

The floor is a bare loop doing the same server-side applies (``apply_manifests``
of the same rendered objects, serially, one client) on an unwatched copy of
the objects. Run: ``.venv/bin/python -m benchmarks.reconciler [--sizes 1 100 500]
[--samples 30] [--workers 4]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx2
from lightkube import ALL_NS, ApiError, Client, KubeConfig
from lightkube.types import PatchType

from benchmarks.render import raw_configuration
from fluxgitops.fluxconfig.readback import configuration_from_cr, owned_manifests
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.kube.client import register_kinds, resource_for
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.manifest import Manifest
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, LABEL_MANAGED_BY
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from reconciler.options import LEASE_NAME

REPO = Path(__file__).resolve().parents[1]
KUSTOMIZE = "kustomize.toolkit.fluxcd.io/v1"
SOURCE = "source.toolkit.fluxcd.io/v1"
LEASE_NAMESPACE = "bench-lease"
LAYERS = ("crds", "infra", "apps")


def configuration(i: int, version: int, *, floor: bool = False) -> dict[str, Any]:
    """Configuration ``i`` at ``version`` (branch ``v<version>``, paths ``<layer>/v<version>``)."""
    raw = raw_configuration(i)
    if floor:
        raw["name"], raw["namespace"] = f"floor-{i}", f"floor-{raw['namespace']}"
    raw["gitRepository"]["repositoryRef"] = {"branch": f"v{version}"}
    for layer in LAYERS:
        raw["kustomizations"][layer]["path"] = f"{layer}/v{version}"
    return raw


def applier_objects(raw: dict[str, Any]) -> list[Manifest]:
    """What the provider applies: the FluxConfig and its protected-settings Secret."""
    spec = parse_configuration(raw)
    return [
        m
        for m in render_configuration(spec, RenderOptions())
        if m.key.kind == FLUXCONFIG_KIND or (m.is_secret and m.key.name == f"{spec.name}-auth")
    ]


def floor_objects(raw: dict[str, Any]) -> list[Manifest]:
    """What the reconciler applies for ``raw``, minus the label it watches (an unwatched copy)."""
    cr_spec = next(m for m in applier_objects(raw) if m.key.kind == FLUXCONFIG_KIND).body["spec"]
    desired = configuration_from_cr(raw["name"], raw["namespace"], cr_spec, {"password": "x"})
    out = []
    for manifest in owned_manifests(desired):
        body = manifest.to_dict()
        body["metadata"]["labels"].pop(LABEL_MANAGED_BY, None)
        out.append(Manifest(body))
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest-rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class Recorder:
    """Watches Kustomizations and GitRepositories; remembers when each marker first showed."""

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        self.cond = threading.Condition()
        self.seen: dict[tuple[str, str, str, str], float] = {}
        self.added: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        self.stopped = threading.Event()

    def start(self) -> None:
        """One daemon thread per kind."""
        for api_version, kind in ((KUSTOMIZE, "Kustomization"), (SOURCE, "GitRepository")):
            threading.Thread(target=self._watch, args=(api_version, kind), daemon=True).start()

    def _watch(self, api_version: str, kind: str) -> None:
        client = Client(KubeConfig.from_file(self.kubeconfig), field_manager="bench-watch")
        res = resource_for(api_version, kind)
        with contextlib.suppress(httpx2.HTTPError):  # the control plane stops at the end
            self._record(client, res, kind)

    def stop(self) -> None:
        """Close the watches at their next event: the cold start is measured without them
        (the floor's objects have no watcher either)."""
        self.stopped.set()

    def _record(self, client: Client, res: Any, kind: str) -> None:
        for event, obj in client.watch(
            res, namespace=ALL_NS, labels={LABEL_MANAGED_BY: "fluxgitops"}
        ):
            if self.stopped.is_set():
                return
            now = time.monotonic()
            body = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
            meta, spec = body.get("metadata") or {}, body.get("spec") or {}
            marker = (
                spec.get("path")
                if kind == "Kustomization"
                else (spec.get("ref") or {}).get("branch")
            )
            where = (kind, meta.get("namespace", ""), meta.get("name", ""))
            with self.cond:
                if event != "DELETED":
                    self.seen.setdefault((*where, str(marker)), now)
                if event == "ADDED":
                    self.added[where].append(now)
                self.cond.notify_all()

    def wait_markers(self, keys: Iterable[tuple[str, str, str, str]], timeout: float = 60) -> float:
        """When the last of ``keys`` was first seen (waits for all)."""
        wanted = list(keys)
        deadline = time.monotonic() + timeout
        with self.cond:
            while not all(k in self.seen for k in wanted):
                if not self.cond.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"not seen: {[k for k in wanted if k not in self.seen]}")
            return max(self.seen[k] for k in wanted)

    def wait_added(self, where: tuple[str, str, str], after: float, timeout: float = 60) -> float:
        """The first ADDED event of ``where`` after ``after``."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                later = [t for t in self.added[where] if t > after]
                if later:
                    return later[0]
                if not self.cond.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(f"{where} not recreated")


class Reconciled:
    """A watch of every FluxConfig's ``status.observedGeneration``.

    Waiting on it costs the API server one event per status write; polling a LIST of
    every FluxConfig (2 MB at 500) five times a second, as before, took CPU from the
    reconciler while it was measured (the floor loop is measured with nothing polling).
    """

    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig
        self.cond = threading.Condition()
        self.observed: dict[tuple[str, str], int] = {}
        self.thread: threading.Thread | None = None

    def _watch(self) -> None:
        client = Client(KubeConfig.from_file(self.kubeconfig), field_manager="bench-watch")
        res = resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)
        with contextlib.suppress(httpx2.HTTPError):  # the control plane stops at the end
            for event, obj in client.watch(res, namespace=ALL_NS):
                body = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
                meta = body.get("metadata") or {}
                key = (str(meta.get("namespace")), str(meta.get("name")))
                observed = (body.get("status") or {}).get("observedGeneration")
                with self.cond:
                    if event == "DELETED":
                        self.observed.pop(key, None)
                    else:
                        self.observed[key] = int(observed or 0)
                    self.cond.notify_all()

    def wait(self, expected: dict[tuple[str, str], int], count: int, timeout: float) -> float:
        """When at least ``count`` FluxConfigs of ``expected`` showed their generation there
        (or a later one) as observed."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._watch, daemon=True)
            self.thread.start()
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                seen = self.observed
                done = sum(1 for key, gen in expected.items() if seen.get(key, 0) >= gen)
                if done >= count:
                    return time.monotonic()
                if not self.cond.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(
                        f"{done} of {count} FluxConfigs reconciled in {timeout:.0f}s"
                    )


def markers(raw: dict[str, Any], version: int) -> list[tuple[str, str, str, str]]:
    """The watch keys saying every Flux object of ``raw`` is at ``version``."""
    ns, name = raw["namespace"], raw["name"]
    keys = [("GitRepository", ns, name, f"v{version}")]
    keys += [("Kustomization", ns, f"{name}-{k}", f"./{k}/v{version}") for k in LAYERS]
    return keys


class Bench:
    """The control plane, the applier's client, the reconciler process and the recorder."""

    def __init__(self, plane: ControlPlane, workers: int) -> None:
        register_kinds()
        self.plane = plane
        self.workers = workers
        self.admin = Client(KubeConfig.from_file(plane.kubeconfig), field_manager="fluxgitops")
        self.floor_client = Client(
            KubeConfig.from_file(plane.kubeconfig), field_manager="fluxgitops-floor"
        )
        self.recorder = Recorder(plane.kubeconfig)
        self.reconciled = Reconciled(plane.kubeconfig)
        self.process: subprocess.Popen[bytes] | None = None
        self.versions: dict[int, int] = {}
        self.expected: dict[tuple[str, str], int] = {}
        """The generation of each FluxConfig written, by (namespace, name)."""
        self.fluxconfig = resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)

    # ------------------------------------------------------------ the reconciler process

    def start_reconciler(self) -> float:
        """Spawn ``python -m reconciler run -A``; the spawn time."""
        argv = [
            sys.executable,
            "-m",
            "reconciler",
            "run",
            "--all-namespaces",
            f"--kubeconfig={self.plane.kubeconfig}",
            f"--lease-namespace={LEASE_NAMESPACE}",
            f"--workers={self.workers}",
            "--log-level=WARNING",
        ]
        started = time.monotonic()
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(argv, cwd=REPO, env=env)
        return started

    def stop_reconciler(self) -> None:
        """SIGTERM and wait."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)
            self.process = None

    def wait_leading(self, timeout: float = 60, settle: float = 3.0) -> None:
        """Wait until the reconciler holds its Lease, then ``settle`` seconds (watches open)."""
        lease = resource_for("coordination.k8s.io/v1", "Lease")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ApiError):
                held = self.admin.get(lease, LEASE_NAME, namespace=LEASE_NAMESPACE)
                if held.spec and held.spec.holderIdentity:
                    time.sleep(settle)
                    return
            time.sleep(0.2)
        raise TimeoutError(f"the reconciler took no Lease in {timeout:.0f}s")

    def rss_mib(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) of the reconciler process in MiB."""
        assert self.process is not None
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)

    # ------------------------------------------------------------ configurations

    def namespaces(self, count: int, *, floor: bool = False) -> None:
        """Create the namespaces the first ``count`` configurations live in."""
        for name in sorted({configuration(i, 1, floor=floor)["namespace"] for i in range(count)}):
            ensure_namespace(self.admin, name)

    def apply(self, i: int, version: int) -> dict[str, Any]:
        """Apply configuration ``i`` at ``version`` as the provider would."""
        raw = configuration(i, version)
        self.write(raw)
        self.versions[i] = version
        return raw

    def write(self, raw: dict[str, Any]) -> None:
        """Apply ``raw``'s FluxConfig and Secret; remember the generation to wait for."""
        for live in apply_manifests(self.admin, applier_objects(raw), force=True):
            meta = live.get("metadata") or {}
            if live.get("kind") == FLUXCONFIG_KIND:
                key = (str(meta.get("namespace")), str(meta.get("name")))
                self.expected[key] = int(meta.get("generation") or 0)

    def wait_reconciled(self, count: int, timeout: float = 600) -> float:
        """Wait until ``count`` of the FluxConfigs written show their generation as observed."""
        return self.reconciled.wait(self.expected, count, timeout)

    # ------------------------------------------------------------ measurements

    def latency(self, count: int, samples: int) -> list[float]:
        """Seconds from a FluxConfig change to all its Flux objects carrying it."""
        out = []
        for n in range(samples):
            i = (n * 7919) % count
            version = max(self.versions.values()) + 1
            raw = configuration(i, version)
            self.write(raw)
            written = time.monotonic()
            self.versions[i] = version
            out.append(self.recorder.wait_markers(markers(raw, version)) - written)
        return out

    def floor_latency(self, samples: int) -> list[float]:
        """Seconds for a bare loop to server-side apply the same 6 objects (changed each time)."""
        out = []
        for n in range(samples):
            objects = floor_objects(configuration(0, 10_000 + n, floor=True))
            start = time.perf_counter()
            apply_manifests(self.floor_client, objects, force=True)
            out.append(time.perf_counter() - start)
        return out

    def heal(self, count: int, samples: int) -> tuple[list[float], list[float]]:
        """(delete → recreated, edit → restored) seconds for Kustomizations of random configs."""
        res = resource_for(KUSTOMIZE, "Kustomization")
        deleted, edited = [], []
        for n in range(samples):
            i = (n * 104729 + 13) % count
            raw = configuration(i, self.versions[i])
            name, ns = f"{raw['name']}-apps", raw["namespace"]
            self.admin.delete(res, name, namespace=ns)
            after = time.monotonic()
            deleted.append(self.recorder.wait_added(("Kustomization", ns, name), after) - after)
            time.sleep(0.05)
            marker = f"./apps/v{self.versions[i]}"
            key = ("Kustomization", ns, name, marker)
            with self.recorder.cond:
                self.recorder.seen.pop(key, None)
            self.admin.patch(
                res, name, {"spec": {"path": "./by-hand"}}, namespace=ns, patch_type=PatchType.MERGE
            )
            after = time.monotonic()
            edited.append(self.recorder.wait_markers([key]) - after)
        return deleted, edited

    def grow(self, count: int) -> None:
        """Bring the cluster to ``count`` configurations (all reconciled)."""
        self.namespaces(count)
        for i in range(len(self.versions), count):
            self.apply(i, 1)
        self.wait_reconciled(count)


def ms(values: Sequence[float]) -> str:
    """``p50 / p95`` in milliseconds."""
    return f"{1000 * statistics.median(values):7.1f} / {1000 * percentile(values, 0.95):7.1f}"


def run(sizes: list[int], samples: int, workers: int, report: Callable[[str], None]) -> None:
    """Every measurement, printed as it completes."""
    with ControlPlane() as plane:
        bench = Bench(plane, workers)
        ensure_namespace(bench.admin, LEASE_NAMESPACE)
        bench.namespaces(1, floor=True)
        bench.recorder.start()
        bench.start_reconciler()
        try:
            report(f"reconciler: python -m reconciler run -A --workers={workers} (own process)")
            bench.wait_leading()
            idle, _ = bench.rss_mib()
            report(f"RSS idle (leading, no configuration): {idle:.1f} MiB")
            report(
                f"{'configs':>8} {'latency p50 / p95 ms':>21} {'floor p50 / p95 ms':>20} "
                f"{'p50 ratio':>9} {'heal delete p50/p95 ms':>23} {'heal edit p50/p95 ms':>21} "
                f"{'RSS MiB':>8}"
            )
            for count in sizes:
                bench.grow(count)
                ours = bench.latency(count, samples)
                floor = bench.floor_latency(samples)
                deleted, edited = bench.heal(count, max(5, samples // 2))
                rss, _ = bench.rss_mib()
                ratio = statistics.median(ours) / statistics.median(floor)
                report(
                    f"{count:>8} {ms(ours):>21} {ms(floor):>20} {ratio:>8.1f}x "
                    f"{ms(deleted):>23} {ms(edited):>21} {rss:>8.1f}"
                )
            top = max(sizes)
            rss, peak = bench.rss_mib()
            report(f"RSS at {top} configurations: {rss:.1f} MiB (peak {peak:.1f} MiB)")
            cold_start(bench, top, report)
        finally:
            bench.stop_reconciler()


def cold_start(bench: Bench, count: int, report: Callable[[str], None]) -> None:
    """Stop, change every configuration, start: time to all reconciled; and the floor's loop."""
    bench.stop_reconciler()
    bench.recorder.stop()
    for i in range(count):
        bench.apply(i, bench.versions[i] + 1)
    started = bench.start_reconciler()
    done = bench.wait_reconciled(count)
    ours = done - started
    rss, peak = bench.rss_mib()
    bench.namespaces(count, floor=True)
    everything = [floor_objects(configuration(i, 1, floor=True)) for i in range(count)]
    for objects in everything:  # the floor's objects exist too, as the reconciler's did
        apply_manifests(bench.floor_client, objects, force=True)
    changed = [floor_objects(configuration(i, 2, floor=True)) for i in range(count)]
    start = time.perf_counter()
    for objects in changed:
        apply_manifests(bench.floor_client, objects, force=True)
    floor = time.perf_counter() - start
    report(
        f"cold start, {count} changed configurations: {ours:.1f} s from process start "
        f"({count / ours:.0f} configurations/s); floor loop {floor:.1f} s "
        f"({count / floor:.0f}/s); ratio {ours / floor:.2f}x; RSS after {rss:.1f} MiB "
        f"(peak {peak:.1f} MiB)"
    )


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 100, 500])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    run(sorted(args.sizes), args.samples, args.workers, lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
