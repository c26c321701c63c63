"""Benchmark: ``pulumi preview`` / ``pulumi up`` of one cluster with N configurations.

Source checks are off (``sourceChecks: off``): they contact each Git host and are measured
by ``benchmarks.validate``.

Runs the real Pulumi CLI (Automation API, file backend) against a fresh local
control plane, and in the same run the floor: a bare server-side-apply loop of
the same rendered objects (lightkube, field manager ``floor``), and the same
objects as pulumi-kubernetes resources (``yaml.v2.ConfigGroup``, the provider
plugin built from Go modules). Prints seconds and ratios; the goal is a
no-change preview under 0.05 s per configuration.
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


def timed(fn: Any) -> tuple[float, Any]:
    """(seconds, result)."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def kubernetes_provider_run(n: int, plane: ControlPlane, state: Path) -> tuple[float, float]:
    """(up, no-change preview) seconds for the same objects as pulumi-kubernetes resources."""
    raws = [configuration(i, f"k{n}") for i in range(n)]
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
        },
        project_settings=auto.ProjectSettings(
            name="bench-k8s", runtime="python", backend=auto.ProjectBackend(url=state.as_uri())
        ),
    )
    stack = auto.create_or_select_stack(
        f"k{n}", project_name="bench-k8s", program=program, opts=options
    )
    up_s, _ = timed(stack.up)
    noop_s, _ = timed(stack.preview)
    return up_s, noop_s


def main(sizes: list[int]) -> None:
    """One line per size."""
    print(
        f"{'configs':>7} {'preview+':>9} {'up':>8} {'preview=':>9} {'floor':>8} "
        f"{'up/floor':>9} {'noop s/config':>14} {'k8s up':>8} {'k8s noop':>9} "
        f"{'up/k8s':>7} {'noop/k8s':>9}"
    )

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
            create_s, _ = timed(lambda s=stacks, n=n: run_stack("preview", f"b{n}", stacks_dir=s))
            up_s, _ = timed(lambda s=stacks, n=n: run_stack("up", f"b{n}", stacks_dir=s))
            noop_s, noop = timed(lambda s=stacks, n=n: run_stack("preview", f"b{n}", stacks_dir=s))
            assert set(noop.changes) == {"same"}, noop.changes
            floor_configs = [configuration(i, f"f{n}") for i in range(n)]

            def floor(configs: list[dict[str, Any]] = floor_configs) -> None:
                for raw in configs:
                    spec = parse_configuration(raw)
                    ensure_namespace(client, spec.namespace)
                    apply_manifests(client, render_configuration(spec))

            floor_s, _ = timed(floor)
            k8s_up, k8s_noop = kubernetes_provider_run(n, plane, Path(tmp) / "state")
            print(
                f"{n:>7} {create_s:>9.2f} {up_s:>8.2f} {noop_s:>9.2f} {floor_s:>8.2f} "
                f"{up_s / floor_s:>9.1f} {noop_s / n:>14.4f} {k8s_up:>8.2f} {k8s_noop:>9.2f} "
                f"{up_s / k8s_up:>7.2f} {noop_s / k8s_noop:>9.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 50, 200])
