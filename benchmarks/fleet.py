"""Benchmark: one fleet template over 1, 5 and 10 local clusters — ``pulumi up`` and a no-change
``pulumi preview`` against the floor of doing the same work directly in one process.

Starts ten independent local clusters the way ``fluxgitops local up --clusters
10`` does (``fluxgitops.local.fleet``: etcd + kube-apiserver + CRDs each, no
controllers) under a temporary ``FLUXGITOPS_LOCAL_DIR`` and a temporary Pulumi
file backend. For each size N the stack ``fleetN`` lists clusters ``local``,
``local-2`` … ``local-N`` (``mode: external``, reconciler off, source checks
off) and one fleet template with one configuration (Git source, two
Kustomizations) for all of them; ``waitForReconciliation`` is off since no Flux
controllers run. Measured through ``components.automation.run_stack`` (the built
Pulumi CLI, the program inline in this process):

- ``up``: creating the N extensions and N configurations;
- ``preview``: a no-change preview right after.

Floor, same run, same clusters, fresh namespaces: the same rendered objects
server-side applied directly (``apply_manifests``), and for the preview floor
the same objects read back (what a diff needs). Prints seconds, the ratio to
the floor, seconds per cluster (growth with N) and the peak RSS of this
process (the program runs inline) and of the largest child (pulumi CLI and
plugins). Run: ``.venv/bin/python -m benchmarks.fleet [--sizes 1 5 10]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from lightkube import Client, KubeConfig

from fluxgitops.kube.apply import apply_manifests, ensure_namespace, read_objects
from fluxgitops.kube.client import register_kinds
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.fleet import start_members, stop_members
from fluxgitops.localrefs import resolve_kubeconfig
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration

TEMPLATE: dict[str, Any] = {
    "name": "platform",
    "namespace": "platform",
    "gitRepository": {
        "url": "https://github.com/example/fleet-infra",
        "repositoryRef": {"branch": "main"},
    },
    "kustomizations": {
        "infra": {"path": "./infrastructure/${cluster.name}", "prune": True},
        "apps": {"path": "./apps", "dependsOn": ["infra"], "prune": True},
    },
    "waitForReconciliation": False,
}


def reference(index: int) -> str:
    """The stack's kubeconfig reference of local cluster ``index`` (1-based)."""
    return "local" if index == 1 else f"local-{index}"


def stack_file(n: int) -> dict[str, Any]:
    """N clusters, one fleet with the template for all of them."""
    clusters = [
        {
            "name": f"c{i}",
            "labels": {"fleet": "bench"},
            "mode": "external",
            "kubeconfig": reference(i),
            "sourceChecks": "off",
            "extension": {"reconciler": {"enabled": False}},
        }
        for i in range(1, n + 1)
    ]
    fleet = {"name": "bench", "selector": {"matchLabels": {"fleet": "bench"}}}
    return {
        "config": {
            "fluxgitops:clusters": clusters,
            "fluxgitops:fleets": [{**fleet, "configurations": [TEMPLATE]}],
        }
    }


def clients(n: int) -> list[Client]:
    """An admin client per cluster 1…N."""
    register_kinds()
    found: list[Client] = []
    for i in range(1, n + 1):
        path = resolve_kubeconfig(reference(i))
        assert path is not None
        found.append(Client(KubeConfig.from_file(path), field_manager="fluxgitops-floor"))
    return found


def floor(n: int, side: str) -> tuple[float, float]:
    """Seconds to apply the rendered objects directly to N clusters, and to read them back."""
    body = {**TEMPLATE, "namespace": f"floor-{side}-{n}"}
    targets = clients(n)
    specs = [
        parse_configuration(
            yaml.safe_load(yaml.safe_dump(body).replace("${cluster.name}", f"c{i}"))
        )
        for i in range(1, n + 1)
    ]
    start = time.perf_counter()
    keys = []
    for client, spec in zip(targets, specs, strict=True):
        ensure_namespace(client, spec.namespace)
        manifests = render_configuration(spec, RenderOptions())
        apply_manifests(client, manifests, force=True)
        keys.append([m.key for m in manifests])
    applied = time.perf_counter() - start
    start = time.perf_counter()
    for client, wanted in zip(targets, keys, strict=True):
        read_objects(client, wanted)
    return applied, time.perf_counter() - start


def measure(n: int, stacks: Path) -> tuple[float, float]:
    """Seconds of ``up`` and of the no-change ``preview`` right after."""
    from components.automation import run_stack  # noqa: PLC0415 (after the env is set)

    name = f"fleet{n}"
    (stacks / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(stack_file(n)))
    start = time.perf_counter()
    run_stack("up", name, stacks_dir=stacks, wait=False)
    up = time.perf_counter() - start
    start = time.perf_counter()
    preview = run_stack("preview", name, stacks_dir=stacks, wait=False)
    assert set(preview.changes) <= {"same"}, (
        f"preview of {name} is not a no-change one: {preview.changes}"
    )
    return up, time.perf_counter() - start


def main(sizes: Sequence[int]) -> None:
    """Start max(sizes) clusters, measure every size, print the table."""
    root = Path(tempfile.mkdtemp(prefix="fluxgitops-fleet-bench-"))
    os.environ["FLUXGITOPS_LOCAL_DIR"] = str(root / "local")
    os.environ["FLUXGITOPS_STATE_DIR"] = str(root / "state")
    os.environ.setdefault("PULUMI_CONFIG_PASSPHRASE", "fluxgitops-bench")
    stacks = root / "stacks"
    stacks.mkdir()
    began = time.perf_counter()
    main_plane = ControlPlane(workdir=root / "local").start()
    try:
        start_members(max(sizes))
        print(f"{max(sizes)} local clusters up in {time.perf_counter() - began:.1f}s", flush=True)
        print(
            f"{'N':>3} {'up':>7} {'floor':>7} {'ratio':>6} {'s/cluster':>9} "
            f"{'preview':>8} {'floor':>7} {'ratio':>6} {'s/cluster':>9}",
            flush=True,
        )
        for n in sizes:
            up, preview = measure(n, stacks)
            apply_floor, read_floor = floor(n, "a")
            print(
                f"{n:>3} {up:>7.1f} {apply_floor:>7.2f} {up / apply_floor:>6.1f} {up / n:>9.2f} "
                f"{preview:>8.1f} {read_floor:>7.2f} {preview / read_floor:>6.1f} "
                f"{preview / n:>9.2f}",
                flush=True,
            )
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"peak RSS: this process (inline program) {own:.0f} MiB; "
            f"largest child (pulumi CLI / plugins) {child:.0f} MiB",
            flush=True,
        )
    finally:
        stop_members()
        main_plane.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 5, 10])
    main(parser.parse_args().sizes)
