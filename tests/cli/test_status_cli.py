"""``fluxgitops status``: one configuration as it runs, as a JSON document and as a table.

The live objects are fixed Flux objects (what the controllers write), so the
output is compared with a golden file; the end-to-end loop test reads the same
document from a real cluster.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from fluxgitops.kube.deployed import LiveConfiguration
from fluxgitops.manifest import ObjectKey
from fluxgitops.spec import parse_configuration
from fluxgitops_cli import app as cli
from fluxgitops_cli import statuscmd

NOW = "2026-01-01T00:00:00Z"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def ready(status: str, reason: str, message: str) -> dict[str, Any]:
    """A status with one Ready condition at generation 1."""
    condition = {"type": "Ready", "status": status, "reason": reason, "message": message}
    return {"observedGeneration": 1, "conditions": [condition]}


def body(key: ObjectKey, status: dict[str, Any], spec: dict[str, Any] | None = None) -> Any:
    """A live object for ``key``."""
    meta = {"name": key.name, "namespace": key.namespace, "generation": 1}
    return {
        "apiVersion": key.api_version,
        "kind": key.kind,
        "metadata": meta,
        "spec": spec or {},
        "status": status,
    }


@pytest.fixture
def live() -> LiveConfiguration:
    """``cluster-config`` with a Ready source, a Ready infra Kustomization that applied a failing
    HelmRelease and a namespace, and an apps Kustomization waiting for infra."""
    spec = parse_configuration(
        {
            "name": "cluster-config",
            "namespace": "cluster-config",
            "gitRepository": {"url": "http://127.0.0.1:8479/gitops.git"},
            "kustomizations": {
                "infra": {"path": "infrastructure"},
                "apps": {"dependsOn": ["infra"]},
            },
        }
    )
    source = ObjectKey(
        "source.toolkit.fluxcd.io/v1", "GitRepository", "cluster-config", "cluster-config"
    )
    infra = ObjectKey(
        "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "cluster-config", "cluster-config-infra"
    )
    apps = ObjectKey(
        "kustomize.toolkit.fluxcd.io/v1", "Kustomization", "cluster-config", "cluster-config-apps"
    )
    release = ObjectKey("helm.toolkit.fluxcd.io/v2", "HelmRelease", "cluster-config", "podinfo")
    source_status = ready("True", "Succeeded", f"stored artifact for revision 'main@sha1:{COMMIT}'")
    source_status["artifact"] = {"revision": f"main@sha1:{COMMIT}"}
    infra_status = ready("True", "ReconciliationSucceeded", f"Applied revision: main@sha1:{COMMIT}")
    infra_status["inventory"] = {
        "entries": [
            {"id": "_podinfo__Namespace", "v": "v1"},
            {"id": "cluster-config_podinfo_helm.toolkit.fluxcd.io_HelmRelease", "v": "v2"},
        ]
    }
    release_status = ready("False", "InstallFailed", "Helm install failed: timed out")
    release_status.update(
        helmChart="cluster-config/cluster-config-podinfo", installFailures=1, failures=1
    )
    release_status["history"] = [{"version": 1}]
    apps_status = ready(
        "False",
        "DependencyNotReady",
        "dependency 'cluster-config/cluster-config-infra' is not ready",
    )
    return LiveConfiguration(
        spec=spec,
        reconciler=False,
        fluxconfig=None,
        flux=[
            (source, body(source, source_status, {"url": "http://127.0.0.1:8479/gitops.git"})),
            (infra, body(infra, infra_status)),
            (apps, body(apps, apps_status)),
        ],
        deployed=[
            (release, body(release, release_status), ("cluster-config", "cluster-config-infra"))
        ],
        applied={"cluster-config-infra": [], "cluster-config-apps": []},
    )


def test_status_document_is_the_deployed_object_list(live: LiveConfiguration) -> None:
    doc = cli.status_document("local", live, NOW)
    assert (doc["complianceState"], doc["sourceSyncedCommitId"]) == ("Non-Compliant", COMMIT)
    assert doc["message"] == "HelmRelease/podinfo: InstallFailed: Helm install failed: timed out"
    release = doc["statuses"][-1]
    assert release["appliedBy"] == {"namespace": "cluster-config", "name": "cluster-config-infra"}
    assert release["helmReleaseProperties"]["installFailureCount"] == 1
    assert [s["complianceState"] for s in doc["statuses"]] == [
        "Compliant",
        "Compliant",
        "Pending",
        "Non-Compliant",
    ]


def test_status_table_shows_ready_reason_and_message(
    live: LiveConfiguration,
    monkeypatch: pytest.MonkeyPatch,
    testdata: Path,
    golden: Callable[[Path, str], None],
) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, color_system=None)
    statuscmd.print_status(cli.status_document("local", live, NOW), console, wide=True)
    golden(testdata / "status" / "cluster-config.txt", buffer.getvalue())


def test_status_at_80_columns_keeps_names_whole(
    live: LiveConfiguration, testdata: Path, golden: Callable[[Path, str], None]
) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, color_system=None)
    statuscmd.print_status(cli.status_document("local", live, NOW), console)
    text = buffer.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines())
    for name in ("Kustomization/cluster-config-infra", "Kustomization/cluster-config-apps"):
        assert name in text
    golden(testdata / "cli" / "status-80.txt", text)


def test_status_json_round_trips(live: LiveConfiguration) -> None:
    doc = cli.status_document("local", live, NOW)
    assert json.loads(json.dumps(doc)) == doc
