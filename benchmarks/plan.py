"""Benchmark: ``fluxgitops plan`` for N configurations against a live cluster, vs its floor.

For each size, a fresh local control plane gets N configurations applied (in 10
namespaces; 4 objects each plus the namespaces' shared RBAC), then, alternately
and ``--repeat`` times, the plan (``live_plan``: render, read the cluster,
diff) and its floor measured in the same run — the least work any plan must do,
written plainly here: connect, render every configuration, one LIST per kind
``render_configuration`` produces over the whole cluster (sequential, no
pagination, no threads), and one diff per configuration against what the lists
returned. Prints the best time of each, the ratio (goal: plan within 2× the
floor, issue 14) and the load average. Run: ``.venv/bin/python -m
benchmarks.plan [--repeat R] [N ...]`` (default 200 500: about 830 and 2,030
objects).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from lightkube import Client, KubeConfig

from benchmarks.stack import configuration
from fluxgitops.diff import diff_manifests
from fluxgitops.kinds import PLANNED_KINDS
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.kube.client import register_kinds, resource_for
from fluxgitops.kube.live import live_plan
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.render import ObjectKey, RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.stack import StackConfig, parse_stack


def floor(stack: StackConfig) -> bool:
    """Connect + render + one LIST per kind + diff; True when something differs."""
    cluster = stack.clusters[0]
    client = Client(KubeConfig.from_file(str(cluster.kubeconfig)))
    options = RenderOptions(multi_tenancy=cluster.extension.multi_tenancy.enforce)
    desired = [render_configuration(spec, options) for spec in cluster.configurations]
    live: dict[ObjectKey, dict[str, Any]] = {}
    for kind in PLANNED_KINDS:
        resource = resource_for(kind.api_version, kind.kind)
        items = client.list(resource, namespace="*") if kind.namespaced else client.list(resource)
        for item in items:
            body = item.to_dict()
            meta = body["metadata"]
            key = ObjectKey(kind.api_version, kind.kind, meta.get("namespace") or "", meta["name"])
            live[key] = body
    changed = False
    for manifests in desired:
        current = [live[m.key] for m in manifests if m.key in live]
        changed |= not diff_manifests(current, manifests, live=True).empty
    return changed


def best(runs: list[float]) -> float:
    """The least-disturbed of repeated runs on a shared machine."""
    return min(runs)


def measure(n: int, repeat: int) -> None:
    """Apply ``n`` configurations to a fresh control plane; time plan and floor, interleaved."""
    with ControlPlane() as plane:
        register_kinds()
        client = Client(KubeConfig.from_file(plane.kubeconfig), field_manager="fluxgitops")
        raws = [configuration(i, f"p{n}") for i in range(n)]
        keys: set[ObjectKey] = set()
        for raw in raws:
            spec = parse_configuration(raw)
            ensure_namespace(client, spec.namespace)
            manifests = render_configuration(spec)
            apply_manifests(client, manifests)
            keys |= {m.key for m in manifests}
        objects = len(keys)  # the namespace's shared RBAC counted once
        cluster = {"name": "c", "kubeconfig": str(plane.kubeconfig), "configurations": raws}
        stack = parse_stack({"clusters": [cluster]})
        plans: list[float] = []
        floors: list[float] = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = live_plan(stack)
            plans.append(time.perf_counter() - start)
            assert not result.changed
            start = time.perf_counter()
            assert not floor(stack)
            floors.append(time.perf_counter() - start)
        plan_s, floor_s = best(plans), best(floors)
        load = os.getloadavg()[0]
        print(
            f"{n:>7} {objects:>7} {plan_s:>8.3f} {floor_s:>8.3f} {plan_s / floor_s:>10.2f} "
            f"{1000 * plan_s / n:>10.1f} {load:>6.1f}",
            flush=True,
        )


def main() -> None:
    """One line per size."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plan")
    parser.add_argument("sizes", nargs="*", type=int, default=[200, 500])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"{'configs':>7} {'objects':>7} {'plan s':>8} {'floor s':>8} {'plan/floor':>10} "
        f"{'ms/config':>10} {'load':>6}"
    )
    for n in args.sizes:
        measure(n, args.repeat)


if __name__ == "__main__":
    main()
