"""``fluxgitops status`` and ``fleet status`` on ``azure`` clusters: rows read from ARM.

The ARM reader is replaced by one returning the test bodies of
``tests/testdata/armstatus`` (Azure is unreachable from here), so what is
tested is the wiring: requests built from the stack, documents in the
kubernetes shape, the ``(ARM)`` marker, Unreachable on a failed read, and the
roll-up counting azure clusters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from components.arm_read import ArmRead, ArmRequest
from fluxgitops.rollup import UNREACHABLE
from fluxgitops.spec.fleet import FLEETS_KEY
from fluxgitops.stack import CONFIG_KEY
from fluxgitops_cli import app as cli
from fluxgitops_cli import fleet, statuscmd

DATA = Path(__file__).parent.parent / "testdata" / "armstatus"
runner = CliRunner()


def _body(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return loaded


BODIES = {"platform": _body("compliant"), "apps": _body("noncompliant")}


def _cluster(name: str, cluster_type: str, config: str, namespace: str) -> dict[str, Any]:
    return {
        "name": name,
        "backend": "azure",
        "azure": {
            "resourceGroupName": "rg",
            "clusterName": name,
            "clusterType": cluster_type,
        },
        "configurations": [
            {
                "name": config,
                "namespace": namespace,
                "gitRepository": {"url": "https://github.com/contoso/x"},
                "kustomizations": {"k": {}},
            }
        ],
    }


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    """A stack with an AKS cluster (``platform``, Compliant in ARM) and an Arc cluster
    (``apps``, Non-Compliant in ARM)."""
    clusters = [
        _cluster("aks-prod", "managedClusters", "platform", "flux-system"),
        _cluster("arc-store-12", "connectedClusters", "apps", "apps"),
    ]
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(yaml.safe_dump({"config": {"fluxgitops:clusters": clusters}}))
    return path


@pytest.fixture
def batches() -> list[list[ArmRequest]]:
    """The requests of each call of the ARM reader, in call order."""
    return []


@pytest.fixture
def arm(monkeypatch: pytest.MonkeyPatch, batches: list[list[ArmRequest]]) -> list[ArmRequest]:
    """ARM replaced by the test bodies (by configuration name); the requests it received."""
    seen: list[ArmRequest] = []

    def read(requests: Sequence[ArmRequest]) -> list[ArmRead]:
        seen.extend(requests)
        batches.append(list(requests))
        return [
            ArmRead(r, body=BODIES[r.name])
            if r.name in BODIES
            else ArmRead(r, error="ARM read failed: ResourceNotFound")
            for r in requests
        ]

    monkeypatch.setattr(statuscmd, "ARM_READER", read)
    monkeypatch.setattr(fleet, "ARM_READER", read)
    return seen


def test_status_reads_each_azure_configuration_from_arm(
    stack_file: Path, arm: list[ArmRequest]
) -> None:
    result = runner.invoke(cli.app, ["status", "-s", str(stack_file), "-o", "json"])
    assert result.exit_code == 0, result.output
    assert [(r.cluster, r.ref.cluster_rp, r.name) for r in arm] == [
        ("aks-prod", "Microsoft.ContainerService", "platform"),
        ("arc-store-12", "Microsoft.Kubernetes", "apps"),
    ]
    docs = json.loads(result.stdout)
    assert [(d["cluster"], d["complianceState"], d["readFrom"]) for d in docs] == [
        ("aks-prod", "Compliant", "ARM"),
        ("arc-store-12", "Non-Compliant", "ARM"),
    ]
    assert docs[1]["message"].startswith("Kustomization/apps-apps: kustomize build failed")


def test_status_table_prints_azure_rows_marked_arm(stack_file: Path, arm: list[ArmRequest]) -> None:
    result = runner.invoke(cli.app, ["status", "-s", str(stack_file)], terminal_width=120)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("aks-prod: flux-system/platform Compliant  commit 4b1e8c3a2f6d")
    assert lines[0].endswith("(ARM)")
    assert any(
        line.startswith("HelmRelease/ingress-nginx") and "(revision 3)" in line for line in lines
    )
    assert any(line.startswith("arc-store-12: apps/apps Non-Compliant") for line in lines)


def test_failed_arm_read_is_unreachable_in_one_line_and_exits_1(
    stack_file: Path, arm: list[ArmRequest]
) -> None:
    text = stack_file.read_text().replace("name: apps\n", "name: gone\n")
    stack_file.write_text(text)
    result = runner.invoke(cli.app, ["status", "-s", str(stack_file), "-o", "json"])
    assert result.exit_code == 1, result.output
    gone = json.loads(result.stdout)[1]
    assert (gone["complianceState"], gone["message"]) == (
        UNREACHABLE,
        "ARM read failed: ResourceNotFound",
    )
    assert result.stderr == ""  # the document carries the error; said once
    table = runner.invoke(cli.app, ["status", "-s", str(stack_file)], terminal_width=200)
    assert table.stdout.splitlines()[-1] == (
        "arc-store-12: apps/gone Unreachable  commit -  (ARM)  ARM read failed: ResourceNotFound"
    )


def test_fleet_status_counts_a_non_compliant_azure_cluster(
    stack_file: Path, arm: list[ArmRequest], batches: list[list[ArmRequest]]
) -> None:
    result = runner.invoke(cli.app, ["fleet", "status", "-s", str(stack_file), "-o", "json"])
    assert result.exit_code == 2, result.output
    (rollup,) = json.loads(result.stdout)
    assert (rollup["compliant"], rollup["total"]) == (1, 2)
    bad = next(c for c in rollup["clusters"] if c["state"] != "Compliant")
    assert (bad["cluster"], bad["state"], bad["configuration"]) == (
        "arc-store-12",
        "Non-Compliant",
        "apps/apps",
    )
    assert bad["message"].startswith("Kustomization/apps-apps: kustomize build failed")
    assert [len(b) for b in batches] == [2]  # every azure cluster in one ARM read


def test_fleet_status_counts_an_unreadable_azure_cluster_unreachable(
    stack_file: Path, arm: list[ArmRequest]
) -> None:
    stack_file.write_text(stack_file.read_text().replace("name: apps\n", "name: gone\n"))
    result = runner.invoke(cli.app, ["fleet", "status", "-s", str(stack_file), "-o", "json"])
    assert result.exit_code == 2, result.output
    (rollup,) = json.loads(result.stdout)
    bad = next(c for c in rollup["clusters"] if c["state"] != "Compliant")
    assert (bad["cluster"], bad["state"], bad["message"]) == (
        "arc-store-12",
        UNREACHABLE,
        "ARM read failed: ResourceNotFound",
    )


def test_status_heading_of_a_stale_azure_configuration_says_so(
    stack_file: Path, arm: list[ArmRequest], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(BODIES, "platform", _body("stale"))
    result = runner.invoke(cli.app, ["status", "-s", str(stack_file)], terminal_width=200)
    heading = result.stdout.splitlines()[0]
    assert heading.startswith("aks-prod: flux-system/platform Compliant  commit 111111111111")
    assert "(ARM)  no status report for " in heading


def test_fleet_status_of_one_fleet_reads_only_its_azure_configurations(
    tmp_path: Path, arm: list[ArmRequest]
) -> None:
    clusters = [
        {**_cluster("aks-prod", "managedClusters", "apps", "apps"), "labels": {"env": "prod"}},
        {**_cluster("arc-store-12", "connectedClusters", "apps", "apps"), "labels": {}},
    ]
    template = {
        "name": "platform",
        "namespace": "flux-system",
        "gitRepository": {"url": "https://github.com/contoso/platform"},
        "kustomizations": {"infra": {}},
    }
    fleets = [
        {
            "name": "prod",
            "selector": {"matchLabels": {"env": "prod"}},
            "configurations": [template],
        }
    ]
    path = tmp_path / "Pulumi.fleet.yaml"
    config = {CONFIG_KEY: clusters, FLEETS_KEY: fleets}
    path.write_text(yaml.safe_dump({"config": config}))
    result = runner.invoke(
        cli.app, ["fleet", "status", "-s", str(path), "--fleet", "prod", "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    assert [(r.cluster, r.name) for r in arm] == [("aks-prod", "platform")]
    (rollup,) = json.loads(result.stdout)
    assert (rollup["fleet"], rollup["compliant"], rollup["total"]) == ("prod", 1, 1)
