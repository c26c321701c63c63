"""Benchmark: ``pulumi preview`` / ``pulumi up`` of one cluster with N configurations.

Runs the real Pulumi CLI (Automation API, file backend) against a fresh local
control plane, and in the same run the floor: a bare server-side-apply loop of
the same rendered objects (lightkube, field manager ``floor``). Prints seconds
and ratios; the goal is a no-change preview under 0.05 s per configuration.
Run: ``.venv/bin/python -m benchmarks.stack [N ...]`` (default 10 50 200).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from lightkube import Client, KubeConfig

from components.automation import run_stack
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.kube.client import register_kinds
from fluxgitops.local.controlplane import ControlPlane
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


def main(sizes: list[int]) -> None:
    """One line per size."""
    print(
        f"{'configs':>7} {'preview+':>9} {'up':>8} {'preview=':>9} {'floor':>8} "
        f"{'up/floor':>9} {'noop s/config':>14}"
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
                                    "kubeconfig": "local",
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
            print(
                f"{n:>7} {create_s:>9.2f} {up_s:>8.2f} {noop_s:>9.2f} {floor_s:>8.2f} "
                f"{up_s / floor_s:>9.1f} {noop_s / n:>14.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 50, 200])
