"""The fleet roll-up on three live local clusters: one Compliant, one Non-Compliant, one stopped.

Three independent local clusters (``fluxgitops.local.fleet``: cluster 1 in the
local directory, 2 and 3 started by ``start_members`` as ``local up --clusters
3`` does) get the same fleet template applied. No Flux controllers run on them
(two cores), so this test writes the Flux objects' status the way the
controllers do (Ready with observedGeneration, or Ready=False with Flux's
reason and message); the roll-up reads everything live through the API.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import Client
from lightkube.config.kubeconfig import KubeConfig
from lightkube.models.coordination_v1 import LeaseSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.coordination_v1 import Lease
from lightkube.types import PatchType
from typer.testing import CliRunner

from fluxgitops.kinds import FLUX_KINDS
from fluxgitops.kube.apply import apply_manifests, ensure_namespace
from fluxgitops.kube.client import register_kinds, resource_for
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.fleet import start_members, stop_members
from fluxgitops.local.processes import stop_detached
from fluxgitops.localrefs import member_dir, resolve_kubeconfig
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.rollup import EXIT_NOT_COMPLIANT, STALE, UNREACHABLE
from fluxgitops.stack import StackConfig, parse_stack
from fluxgitops.status import COMPLIANT, NON_COMPLIANT
from fluxgitops_cli.app import app
from fluxgitops_cli.fleet import rollup_stack

STACK: dict[str, Any] = {
    "fluxgitops:clusters": [
        {
            "name": f"edge-{n}",
            "labels": {"env": "edge"},
            "kubeconfig": ref,
            "mode": "external",
            "extension": {"reconciler": {"enabled": False}},
        }
        for n, ref in ((1, "local"), (2, "local-2"), (3, "local-3"))
    ],
    "fluxgitops:fleets": [
        {
            "name": "edge",
            "selector": {"matchLabels": {"env": "edge"}},
            "configurations": [
                {
                    "name": "apps",
                    "namespace": "apps",
                    "gitRepository": {
                        "url": "https://github.com/example/edge",
                        "repositoryRef": {"branch": "main"},
                    },
                    "kustomizations": {"site": {"path": "./sites/${cluster.name}"}},
                }
            ],
        }
    ],
}


@dataclass
class LiveFleet:
    """The parsed stack, a stack file for the CLI, and an admin client per running cluster."""

    config: StackConfig
    stack_file: Path
    clients: dict[str, Client]


def _client(kubeconfig: str) -> Client:
    register_kinds()
    return Client(KubeConfig.from_file(kubeconfig), field_manager="flux-test-controller")


def _set_ready(client: Client, obj: dict[str, Any], failure: tuple[str, str] | None = None) -> None:
    """Write the Ready condition as Flux's controllers do."""
    meta = obj["metadata"]
    status, reason, message = (
        ("True", "Succeeded", "ready") if failure is None else ("False", *failure)
    )
    body = {
        "status": {
            "observedGeneration": meta.get("generation", 1),
            "conditions": [
                {
                    "type": "Ready",
                    "status": status,
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": "2026-12-02T00:00:00Z",
                    "observedGeneration": meta.get("generation", 1),
                }
            ],
        }
    }
    kind = resource_for(obj["apiVersion"], obj["kind"])
    client.patch(
        kind.Status, meta["name"], body, namespace=meta.get("namespace"), patch_type=PatchType.MERGE
    )


@pytest.fixture(scope="module")
def live_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveFleet]:
    """Three local clusters with the fleet applied: edge-1 Compliant, edge-2 with a failing
    Kustomization, edge-3 stopped. Stopped again after the module."""
    root = tmp_path_factory.mktemp("fleet")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLUXGITOPS_LOCAL_DIR", str(root / "local"))
        main = ControlPlane(workdir=root / "local").start()
        try:
            start_members(3)
            config = parse_stack(STACK)
            clients: dict[str, Client] = {}
            for cluster in config.clusters:
                kubeconfig = resolve_kubeconfig(cluster.kubeconfig)
                assert kubeconfig is not None
                client = _client(kubeconfig)
                (spec,) = cluster.configurations
                ensure_namespace(client, spec.namespace)
                applied = apply_manifests(client, render_configuration(spec, RenderOptions()))
                for obj in applied:
                    if obj["kind"] not in FLUX_KINDS:
                        continue
                    failing = cluster.name == "edge-2" and obj["kind"] == "Kustomization"
                    _set_ready(
                        client,
                        obj,
                        ("BuildFailed", "kustomize build failed: sites/edge-2 not found")
                        if failing
                        else None,
                    )
                clients[cluster.name] = client
            stop_detached(member_dir(3))
            stack_file = root / "Pulumi.edge.yaml"
            stack_file.write_text(yaml.safe_dump({"config": STACK}))
            yield LiveFleet(config, stack_file, clients)
        finally:
            stop_members()
            main.stop()


def test_rollup_counts_and_names_each_failing_cluster(live_fleet: LiveFleet) -> None:
    (rollup,) = rollup_stack(live_fleet.config, now=datetime.now(UTC))
    assert rollup.headline() == "fleet edge: 1 of 3 clusters Compliant"
    states = {c.cluster: c.state for c in rollup.clusters}
    assert states == {"edge-1": COMPLIANT, "edge-2": NON_COMPLIANT, "edge-3": UNREACHABLE}
    failing = next(c for c in rollup.problems if c.cluster == "edge-2")
    assert failing.configuration == "apps/apps"
    assert (
        failing.message
        == "Kustomization/apps-site: BuildFailed: kustomize build failed: sites/edge-2 not found"
    )


def test_cli_exit_code_and_json(live_fleet: LiveFleet) -> None:
    result = CliRunner().invoke(
        app, ["fleet", "status", "-s", str(live_fleet.stack_file), "-o", "json"]
    )
    assert result.exit_code == EXIT_NOT_COMPLIANT, result.output
    (doc,) = yaml.safe_load(result.stdout)
    assert (doc["fleet"], doc["compliant"], doc["total"]) == ("edge", 1, 3)


def test_cluster_whose_reconciler_stopped_reporting_is_stale(live_fleet: LiveFleet) -> None:
    client = live_fleet.clients["edge-1"]
    renewed = datetime.now(UTC) - timedelta(hours=72)
    lease = Lease(
        metadata=ObjectMeta(name="fluxgitops-reconciler", namespace="default"),
        spec=LeaseSpec(holderIdentity="reconciler-0", renewTime=renewed, leaseDurationSeconds=15),
    )
    client.apply(lease, force=True)
    with_reconciler = copy.deepcopy(STACK)
    with_reconciler["fluxgitops:clusters"][0]["extension"] = {"reconciler": {"enabled": True}}
    (rollup,) = rollup_stack(parse_stack(with_reconciler), now=datetime.now(UTC))
    verdict = next(c for c in rollup.clusters if c.cluster == "edge-1")
    assert verdict.state == STALE
    assert verdict.message.startswith("no status report for 72 h (more than 48 h)")
