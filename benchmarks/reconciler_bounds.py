"""Benchmark: the reconciler's memory with the largest configurations validation accepts.

A fresh local control plane and the reconciler as its own process (``Bench``
from ``benchmarks.reconciler``). Each configuration is as large as the bounds
allow (``fluxgitops.spec.names``): ``MAX_KUSTOMIZATIONS`` Kustomizations whose
substitutions fill the configuration up to ``MAX_SPEC_BYTES``. For each count,
the configurations are applied and reconciled, the reconciler is stopped, every
configuration is changed, and a new reconciler process reconciles them all
from scratch (a restart after an outage); then its
RSS (``VmRSS``) and peak (``VmHWM``) are compared with the Deployment's
``limits.memory``. The floor, measured in the same run, is the same process
idle with no configuration.

Run: ``.venv/bin/python -m benchmarks.reconciler_bounds [--counts 1 10 40]``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from benchmarks.reconciler import Bench
from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.spec import parse_configuration
from fluxgitops.spec.extension import ReconcilerSpec
from fluxgitops.spec.names import (
    MAX_KUSTOMIZATIONS,
    MAX_SPEC_BYTES,
    MAX_SUBSTITUTE_VALUE,
    MAX_SUBSTITUTIONS,
)

MARGIN = 2048
"""Bytes left under ``MAX_SPEC_BYTES`` for the token merged in from the Secret."""


def canonical_size(raw: dict[str, Any]) -> int:
    """What the size bound measures: the validated configuration as JSON, defaults included."""
    spec = parse_configuration(raw)
    return len(json.dumps(spec.model_dump(mode="json", exclude_none=True), separators=(",", ":")))


def largest(i: int, version: int = 0) -> dict[str, Any]:
    """Configuration ``i`` (paths carry ``version``): HTTPS Git with a token, the maximum
    number of Kustomizations, and substitutions filling it to just under ``MAX_SPEC_BYTES``."""
    raw: dict[str, Any] = {
        "name": f"big-{i}",
        "namespace": f"bench-big-{i}",
        "gitRepository": {
            "url": f"https://git.example.com/fleet-{i}.git",
            "httpsUser": "bot",
            "httpsKey": f"token-{i:08d}",
        },
        "kustomizations": {
            f"k{n}": {"path": f"apps/v{version}/{n}", "postBuild": {"substitute": {}}}
            for n in range(MAX_KUSTOMIZATIONS)
        },
    }
    budget = MAX_SPEC_BYTES - MARGIN - canonical_size(raw)
    per_value = min(MAX_SUBSTITUTE_VALUE, 1024)
    n = 0
    while budget > per_value + 16:
        k = n % MAX_KUSTOMIZATIONS
        variables = raw["kustomizations"][f"k{k}"]["postBuild"]["substitute"]
        if len(variables) >= MAX_SUBSTITUTIONS:
            break
        variables[f"v{n // MAX_KUSTOMIZATIONS}"] = "x" * per_value
        budget -= per_value + 12
        n += 1
    parse_configuration(raw)  # accepted: within every bound
    return raw


def _mib(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1.0, "Gi": 1024.0}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity.removesuffix(suffix)) * factor
    return float(quantity) / (1024 * 1024)


def run(counts: list[int], report: Callable[[str], None]) -> None:
    """Idle floor, then for each count: apply, reconcile, restart, reconcile, measure."""
    limit = ReconcilerSpec().resources.limits.memory or "0"
    size = canonical_size(largest(0))
    report(
        f"each configuration: {size} bytes of spec JSON (limit {MAX_SPEC_BYTES}), "
        f"{MAX_KUSTOMIZATIONS} Kustomizations"
    )
    with ControlPlane() as plane:
        bench = Bench(plane, workers=4)
        ensure_namespace(bench.admin, "bench-lease")
        bench.start_reconciler()
        time.sleep(8)
        idle, _ = bench.rss_mib()
        report(f"floor: idle reconciler, no configuration: RSS {idle:.1f} MiB")
        applied = 0
        try:
            for count in counts:
                for i in range(applied, count):
                    raw = largest(i)
                    ensure_namespace(bench.admin, raw["namespace"])
                    bench.write(raw)
                applied = count
                bench.wait_reconciled(count)
                bench.stop_reconciler()
                for i in range(count):  # changed while it is down: the restart must apply all
                    raw = largest(i, version=count)
                    bench.write(raw)
                started = bench.start_reconciler()
                done = bench.wait_reconciled(count)
                time.sleep(3)
                rss, peak = bench.rss_mib()
                verdict = "under" if peak < _mib(limit) else "OVER"
                report(
                    f"{count} largest configurations, after a restart: RSS {rss:.1f} MiB, "
                    f"peak {peak:.1f} MiB ({peak / idle:.1f}x idle) — {verdict} limits.memory "
                    f"{limit}; restart to reconciled {done - started:.1f} s"
                )
        finally:
            bench.stop_reconciler()


def main(argv: list[str] | None = None) -> None:
    """Parse the options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 10, 40])
    args = parser.parse_args(argv)
    run(sorted(args.counts), lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
