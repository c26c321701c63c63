"""Benchmark: ``pulumi preview`` / ``pulumi up`` of one cluster with N configurations.

Source checks are off (``sourceChecks: off``): they contact each Git host and are measured
by ``benchmarks.validate``.

Runs the real Pulumi CLI (Automation API, file backend) against a fresh local
control plane, and in the same run the floor: a bare server-side-apply loop of
the same rendered objects (lightkube, field manager ``floor``), and the same
objects as pulumi-kubernetes resources (``yaml.v2.ConfigGroup``, the provider
plugin built from Go modules). Prints, for every size, each path (first preview,
``pulumi up``, no-change preview) for ours, pulumi-kubernetes and the bare loop, the
ratios and the load average. Ours writes the state once per ``up`` (a kubernetes-only
stack: ``components.workspace.checkpoint_environment``); pulumi-kubernetes runs both ways,
state once (the like-for-like peer) and Pulumi's default of a state write per step.
Goals: a no-change preview no slower than pulumi-kubernetes,
``pulumi up`` within 2x the bare loop.
Run: ``.venv/bin/python -m benchmarks.stack [N ...]`` (default 10 50 200).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml
from lightkube import Client, KubeConfig
from pulumi import automation as auto

from components.automation import run_stack
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.kube.client import register_kinds
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.toolchain import tool_path
from fluxgitops.render import render_configuration
from fluxgitops.spec import parse_configuration


def configuration(i: int, prefix: str) -> dict[str, Any]:
    """A configuration with two kustomizations (7 objects with RBAC and FluxConfig)."""
    return {
        "name": f"{prefix}-{i}",
        "namespace": f"{prefix}-ns-{i % 10}",
        "gitRepository": {
            "url": f"https://git.example.com/org/repo-{i}.git",
            "repositoryRef": {"branch": "main"},
        },
        "kustomizations": {
            "infra": {"path": "infra"},
            "apps": {"path": "apps", "dependsOn": ["infra"]},
        },
    }


PREVIEWS = 3
"""No-change previews per size and path; the fastest is reported (the machine is noisy)."""


def timed(fn: Any) -> tuple[float, Any]:
    """(seconds, result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def kubernetes_provider_run(
    n: int, plane: ControlPlane, state: Path, *, state_once: bool = False
) -> tuple[float, float]:
    """(up, no-change preview) seconds for the same objects as pulumi-kubernetes resources;
    with ``state_once`` the state is written once at the end (``PULUMI_SKIP_CHECKPOINTS``),
    as ``fluxgitops up`` does on kubernetes-only stacks."""
    prefix = f"o{n}" if state_once else f"k{n}"
    raws = [configuration(i, prefix) for i in range(n)]
    objects = [m.to_dict() for raw in raws for m in render_configuration(parse_configuration(raw))]
    namespaces = sorted(
        {str(o["metadata"]["namespace"]) for o in objects if "namespace" in o["metadata"]}
    )
    kubeconfig = plane.kubeconfig.read_text()

    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig=kubeconfig)
        opts = pulumi.ResourceOptions(provider=provider)
        created = [k8s.core.v1.Namespace(ns, metadata={"name": ns}, opts=opts) for ns in namespaces]
        k8s.yaml.v2.ConfigGroup(
            "objects",
            objs=objects,
            opts=pulumi.ResourceOptions(provider=provider, depends_on=created),
        )

    plugin_dir = tool_path("pulumi-resource-kubernetes", "pulumi-resource-kubernetes").parent
    os.environ["PATH"] = f"{plugin_dir}{os.pathsep}{os.environ['PATH']}"
    options = auto.LocalWorkspaceOptions(
        env_vars={
            "PATH": os.environ["PATH"],
            "PULUMI_CONFIG_PASSPHRASE": "bench",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_SKIP_CHECKPOINTS": "true" if state_once else "false",
        },
        project_settings=auto.ProjectSettings(
            name="bench-k8s", runtime="python", backend=auto.ProjectBackend(url=state.as_uri())
        ),
    )
    stack = auto.create_or_select_stack(
        prefix, project_name="bench-k8s", program=program, opts=options
    )
    up_s, _ = timed(stack.up)
    noop_s = min(timed(stack.preview)[0] for _ in range(PREVIEWS))
    return up_s, noop_s


def report(n: int, objects: int, figures: dict[str, float]) -> None:
    """One block per size: each path for ours, pulumi-kubernetes and the bare loop, with ratios."""
    load = os.getloadavg()[0]
    print(f"\n{n} configurations ({objects} objects), load average {load:.1f}")
    heads = ("ours", "pulumi-k8s", "bare loop", "ours/k8s", "ours/loop")
    print(f"{'':24} {heads[0]:>8} {heads[1]:>11} {heads[2]:>10} {heads[3]:>9} {heads[4]:>10}")
    print(f"{'first preview (create)':24} {figures['create']:>7.2f}s")
    print(
        f"{'pulumi up, state once':24} {figures['up']:>7.2f}s {figures['k8s_up_once']:>10.2f}s "
        f"{figures['floor']:>9.2f}s {figures['up'] / figures['k8s_up_once']:>8.2f}x "
        f"{figures['up'] / figures['floor']:>9.2f}x"
    )
    print(
        f"{'  k8s, a state per step':24} {'':>8} {figures['k8s_up']:>10.2f}s "
        f"{'':>10} {figures['up'] / figures['k8s_up']:>8.2f}x"
    )
    print(
        f"{'no-change preview, min 3':24} {figures['noop']:>7.2f}s {figures['k8s_noop']:>10.2f}s "
        f"{'':>10} {figures['noop'] / figures['k8s_noop']:>8.2f}x"
        f"   ({figures['noop'] / n:.4f} s per configuration)",
        flush=True,
    )


def main(sizes: list[int]) -> None:
    """One block per size."""
    with tempfile.TemporaryDirectory() as tmp, ControlPlane() as plane:
        assert plane.workdir is not None
        os.environ |= {
            "FLUXGITOPS_LOCAL_DIR": str(plane.workdir),
            "FLUXGITOPS_STATE_DIR": str(Path(tmp) / "state"),
            "PULUMI_CONFIG_PASSPHRASE": "bench",
        }
        register_kinds()
        client = Client(KubeConfig.from_file(plane.kubeconfig), field_manager="floor")
        for n in sizes:
            stacks = Path(tmp) / f"stacks-{n}"
            stacks.mkdir()
            configs = [configuration(i, f"b{n}") for i in range(n)]
            (stacks / f"Pulumi.b{n}.yaml").write_text(
                yaml.safe_dump(
                    {
                        "config": {
                            "fluxgitops:clusters": [
                                {
                                    "name": "local",
                                    "mode": "external",
                                    "sourceChecks": "off",
                                    "kubeconfig": "local",
                                    # measure the provider applying every object (no reconciler)
                                    "extension": {"reconciler": {"enabled": False}},
                                    "configurations": configs,
                                }
                            ]
                        }
                    }
                )
            )
            figures: dict[str, float] = {}
            figures["create"], _ = timed(
                lambda s=stacks, n=n: run_stack("preview", f"b{n}", stacks_dir=s)
            )
            figures["up"], _ = timed(lambda s=stacks, n=n: run_stack("up", f"b{n}", stacks_dir=s))
            previews = [
                timed(lambda s=stacks, n=n: run_stack("preview", f"b{n}", stacks_dir=s))
                for _ in range(PREVIEWS)
            ]
            figures["noop"] = min(seconds for seconds, _ in previews)
            for _, noop in previews:
                assert set(noop.changes) == {"same"}, noop.changes
            floor_configs = [configuration(i, f"f{n}") for i in range(n)]

            def floor(configs: list[dict[str, Any]] = floor_configs) -> int:
                applied = 0
                for raw in configs:
                    spec = parse_configuration(raw)
                    ensure_namespace(client, spec.namespace)
                    applied += len(apply_manifests(client, render_configuration(spec)))
                return applied

            figures["floor"], objects = timed(floor)
            figures["k8s_up"], figures["k8s_noop"] = kubernetes_provider_run(
                n, plane, Path(tmp) / "state"
            )
            figures["k8s_up_once"], _ = kubernetes_provider_run(
                n, plane, Path(tmp) / "state", state_once=True
            )
            report(n, objects, figures)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 50, 200])
