"""Benchmark: the GitOps loop end to end, ``pulumi up`` start → every configuration Compliant.

Runs the real parts as ``tests/e2e/test_gitops_loop.py`` does: a local control
plane with controller-manager, scheduler and a kwok node, the four Flux
controllers and the fluxgitops reconciler as local processes, the project's Git
server serving a copy of ``examples/gitops-repo``, and the Pulumi CLI through
``components.automation.run_stack`` (file backend), whose ``up`` ends when
every configuration with ``waitForReconciliation`` is Compliant.

For N configurations the stack holds N namespace-scoped configurations like
``team-a`` in ``stacks/Pulumi.local.yaml`` (multi-tenancy on, reconciler on, one
Kustomization with ``prune`` and ``wait``, short intervals), each in its own
namespace. The example's ``teams/team-a`` pins ``namespace: team-a`` and the
renderer has no ``targetNamespace``, so the served copy holds one
``teams/<namespace>`` directory per configuration: the same ConfigMap and
Deployment with the namespace changed (a namespace-scoped ``flux-applier`` may
write only in its own namespace).

The floor, in the same run on the same cluster and a fresh set of namespaces:
the same configurations rendered by ``render_configuration`` (multi-tenancy on,
every Flux object, no FluxConfig so the reconciler leaves them alone),
server-side applied as admin (``apply_manifests``), then polled until every
GitRepository and Kustomization is Ready=True at its current generation.
One unmeasured configuration goes through both paths first (the first reconcile on a fresh
plane is slower whichever path runs it). Prints seconds and the ratio; the goal is ≤ 1.3×.
Run: ``.venv/bin/python -m benchmarks.loop [--sizes 1 20]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from lightkube import Client, KubeConfig

from components.automation import run_stack
from fluxgitops.kinds import FLUX_KINDS
from fluxgitops.kube.apply import apply_manifests, ensure_namespace, read_object
from fluxgitops.kube.client import register_kinds
from fluxgitops.local.controlplane import FLUX_CONTROLLERS, ControlPlane
from fluxgitops.local.gitserver import EXAMPLE_REPOSITORY, GitServer, record_url
from fluxgitops.local.loop import EXAMPLE_DIR, start_reconciler
from fluxgitops.manifest import Manifest
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.status import COMPLIANT, compliance

TEAM = Path("teams") / "team-a"
POLL_S = 0.2
TIMEOUT_S = 600.0


def namespaces(n: int, prefix: str) -> list[str]:
    """The N namespaces of one size and side (``bench`` or ``floor``)."""
    return [f"{prefix}-{n}-{i}" for i in range(n)]


def team_directory(repository: Path, namespace: str) -> None:
    """``teams/<namespace>``: ``teams/team-a`` with its namespace changed."""
    target = repository / "teams" / namespace
    shutil.copytree(repository / TEAM, target)
    kustomization = target / "kustomization.yaml"
    text = kustomization.read_text()
    kustomization.write_text(text.replace("namespace: team-a", f"namespace: {namespace}"))


def configuration(namespace: str, git_url: str) -> dict[str, Any]:
    """A namespace-scoped configuration like ``team-a`` in ``stacks/Pulumi.local.yaml``."""
    return {
        "name": namespace,
        "namespace": namespace,
        "scope": "namespace",
        "gitRepository": {
            "url": f"{git_url}/{EXAMPLE_REPOSITORY}.git",
            "repositoryRef": {"branch": "main"},
            "syncInterval": "2s",
        },
        "kustomizations": {
            "app": {
                "path": f"./teams/{namespace}",
                "prune": True,
                "wait": True,
                "syncInterval": "3s",
                "retryInterval": "2s",
                "timeout": "60s",
            }
        },
        "waitForReconciliation": True,
        "reconciliationWaitDuration": "10m",
    }


def stack_file(configs: list[dict[str, Any]]) -> dict[str, Any]:
    """The local stack's cluster (external mode, multi-tenancy, reconciler as a process)."""
    return {
        "config": {
            "fluxgitops:clusters": [
                {
                    "name": "local",
                    "backend": "kubernetes",
                    "mode": "external",
                    "kubeconfig": "local",
                    "sourceChecks": "off",
                    "extension": {
                        "multiTenancy": {"enforce": True},
                        "reconciler": {"deploy": False},
                    },
                    "configurations": configs,
                }
            ]
        }
    }


def loop_run(n: int, git_url: str, stacks: Path, prefix: str = "bench") -> float:
    """Seconds of ``run_stack("up")`` (apply, then wait for Compliant) for N configurations."""
    configs = [configuration(ns, git_url) for ns in namespaces(n, prefix)]
    (stacks / f"Pulumi.{prefix}{n}.yaml").write_text(yaml.safe_dump(stack_file(configs)))
    start = time.perf_counter()
    up = run_stack("up", f"{prefix}{n}", stacks_dir=stacks)
    elapsed = time.perf_counter() - start
    states = {k: v for k, v in up.outputs.items() if k.endswith(":complianceState")}
    assert len(states) == n, states
    return elapsed


def all_ready(client: Client, flux: Sequence[Manifest]) -> bool:
    """True when every Flux object is Ready=True at its current generation."""
    live: list[dict[str, Any]] = []
    for manifest in flux:
        body = read_object(client, manifest.key)
        if body is None:
            return False
        live.append(body)
    return compliance(live).state == COMPLIANT


def floor_run(n: int, git_url: str, client: Client, prefix: str = "floor") -> float:
    """Seconds to apply the same Flux objects directly and see Flux's Ready on all of them."""
    options = RenderOptions(multi_tenancy=True, include_fluxconfig=False)
    specs = [parse_configuration(configuration(ns, git_url)) for ns in namespaces(n, prefix)]
    start = time.perf_counter()
    flux: list[Manifest] = []
    for spec in specs:
        ensure_namespace(client, spec.namespace)
        manifests = render_configuration(spec, options)
        apply_manifests(client, manifests)
        flux.extend(m for m in manifests if m.key.kind in FLUX_KINDS)
    while not all_ready(client, flux):
        if time.perf_counter() - start > TIMEOUT_S:
            raise TimeoutError(f"floor: {n} configurations not Ready after {TIMEOUT_S:.0f}s")
        time.sleep(POLL_S)
    return time.perf_counter() - start


def main(sizes: Sequence[int]) -> None:
    """One line per size: loop seconds, floor seconds, ratio."""
    print(f"{'configs':>7} {'up→Compliant':>13} {'floor':>8} {'ratio':>6}", flush=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        ControlPlane(controllers=FLUX_CONTROLLERS, kube_controllers=True, nodes=1) as plane,
    ):
        assert plane.workdir is not None
        start_reconciler(plane)
        repository = Path(tmp) / "repo"
        shutil.copytree(EXAMPLE_DIR, repository)
        for namespace in namespaces(1, "warm") + namespaces(1, "warmfloor"):
            team_directory(repository, namespace)
        for n in sizes:
            for namespace in namespaces(n, "bench") + namespaces(n, "floor"):
                team_directory(repository, namespace)
        os.environ |= {
            "FLUXGITOPS_LOCAL_DIR": str(plane.workdir),
            "FLUXGITOPS_STATE_DIR": str(Path(tmp) / "state"),
            "PULUMI_CONFIG_PASSPHRASE": "bench",
        }
        register_kinds()
        client = Client(KubeConfig.from_file(plane.kubeconfig), field_manager="floor")
        with GitServer() as git:
            git.publish(EXAMPLE_REPOSITORY, repository)
            record_url(plane.workdir, git.base_url)
            stacks = Path(tmp) / "stacks"
            stacks.mkdir()
            # one unmeasured configuration through both paths first: the first reconcile on a
            # fresh plane pays for the controllers' caches and the node's first pods
            loop_run(1, git.base_url, stacks, prefix="warm")
            floor_run(1, git.base_url, client, prefix="warmfloor")
            for n in sizes:
                loop_s = loop_run(n, git.base_url, stacks)
                floor_s = floor_run(n, git.base_url, client)
                print(
                    f"{n:>7} {loop_s:>13.2f} {floor_s:>8.2f} {loop_s / floor_s:>6.2f}", flush=True
                )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 20])
    main(parser.parse_args().sizes)
