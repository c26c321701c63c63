"""Benchmark: ``fluxgitops plan`` for N configurations against a live cluster, vs rendering alone.

Applies N configurations to a fresh local control plane, then times the plan
(render + read live + list owned + diff) and, in the same run, rendering alone.
Run: ``.venv/bin/python -m benchmarks.plan [N ...]`` (default 200).
"""

from __future__ import annotations

import sys
import time

from lightkube import Client, KubeConfig

from benchmarks.stack import configuration
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.kube.client import register_kinds
from fluxgitops.kube.live import live_plan
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.render import render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.stack import parse_stack


def main(sizes: list[int]) -> None:
    """One line per size."""
    print(f"{'configs':>7} {'plan s':>8} {'render s':>9} {'plan/render':>12} {'ms/config':>10}")
    with ControlPlane() as plane:
        register_kinds()
        client = Client(KubeConfig.from_file(plane.kubeconfig), field_manager="fluxgitops")
        for n in sizes:
            raws = [configuration(i, f"p{n}") for i in range(n)]
            for raw in raws:
                spec = parse_configuration(raw)
                ensure_namespace(client, spec.namespace)
                apply_manifests(client, render_configuration(spec))
            stack = parse_stack(
                {
                    "clusters": [
                        {"name": "c", "kubeconfig": str(plane.kubeconfig), "configurations": raws}
                    ]
                }
            )
            start = time.perf_counter()
            result = live_plan(stack)
            plan_s = time.perf_counter() - start
            assert not result.changed
            start = time.perf_counter()
            for spec in stack.clusters[0].configurations:
                render_configuration(spec)
            render_s = time.perf_counter() - start
            print(
                f"{n:>7} {plan_s:>8.2f} {render_s:>9.3f} {plan_s / render_s:>12.0f} "
                f"{1000 * plan_s / n:>10.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [200])
