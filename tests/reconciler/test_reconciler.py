"""The reconciler on the real local control plane: one situation per test.

FluxConfigs are applied the way the dynamic provider applies them (the CR and
its protected-settings Secret, nothing else); the reconciler, running in a
thread (``conftest.reconciler``), must do the rest.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.request
from typing import Any

import pytest
from lightkube import Client, codecs
from lightkube.types import PatchType

from fluxgitops.fluxconfig.vocabulary import ANNOTATION_FORCE_FINALIZE, FINALIZER, REASON_INVALID
from fluxgitops.kube.apply import read_object
from fluxgitops.kube.client import resource_for
from fluxgitops.manifest import ObjectKey
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, LABEL_CONFIGURATION
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from fluxgitops.sshkeys import public_key_of
from reconciler.operator import Reconciler
from reconciler.options import ReconcilerOptions
from reconciler.runner import ReconcilerThread
from tests.reconciler.support import (
    KUSTOMIZE,
    SOURCE,
    apply_fluxconfig,
    fluxconfig,
    git_repository,
    https_config,
    kustomization,
    ready,
    status_of,
    wait_for,
)

FLUX_FINALIZER = "finalizers.fluxcd.io"


def _fluxconfig_res() -> Any:
    return resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)


def _kustomization_res() -> Any:
    return resource_for(KUSTOMIZE, "Kustomization")


def _two_layers(name: str, namespace: str) -> dict[str, Any]:
    return https_config(
        name, namespace, infra={"path": "infra"}, apps={"path": "apps", "dependsOn": ["infra"]}
    )


def _managers(body: dict[str, Any] | None) -> set[str]:
    return {f["manager"] for f in (body or {}).get("metadata", {}).get("managedFields") or []}


def _reconciled(admin: Client, namespace: str, name: str, generation: int = 1) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        status = status_of(admin, namespace, name)
        return status if status.get("observedGeneration") == generation else None

    return wait_for(f"{namespace}/{name} reconciled at generation {generation}", probe)


def _write_flux_status(
    admin: Client, key: ObjectKey, ready_status: str, reason: str, message: str, **extra: Any
) -> None:
    res = resource_for(key.api_version, key.kind)
    live = read_object(admin, key) or {}
    status = {
        "observedGeneration": live["metadata"]["generation"],
        "conditions": [
            {
                "type": "Ready",
                "status": ready_status,
                "reason": reason,
                "message": message,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
        **extra,
    }
    admin.patch(
        res.Status,
        key.name,
        {"status": status},
        namespace=key.namespace,
        patch_type=PatchType.MERGE,
    )


def test_create_makes_every_object_appear(admin: Client, namespace: str) -> None:
    apply_fluxconfig(admin, _two_layers("web", namespace))
    apps = wait_for("Kustomization web-apps", lambda: kustomization(admin, namespace, "web-apps"))
    assert apps["spec"]["dependsOn"] == [{"name": "web-infra"}]
    assert apps["metadata"]["labels"][LABEL_CONFIGURATION] == "web"
    assert "fluxgitops-reconciler" in _managers(apps)
    source = git_repository(admin, namespace, "web")
    assert source is not None
    assert source["spec"]["secretRef"] == {"name": "web-auth"}
    status = _reconciled(admin, namespace, "web")
    assert status["complianceState"] == "Pending"
    assert [s["name"] for s in status["statuses"]] == ["web", "web-infra", "web-apps"]
    meta = (fluxconfig(admin, namespace, "web") or {})["metadata"]
    assert meta["finalizers"] == [FINALIZER]
    assert not meta.get("annotations")  # no kopf state or spec copies in annotations
    secret = read_object(admin, ObjectKey("v1", "Secret", namespace, "web-auth"))
    assert "fluxgitops-reconciler" not in _managers(secret)  # the applier's, read only


def test_kustomization_edited_by_hand_is_restored(admin: Client, namespace: str) -> None:
    apply_fluxconfig(admin, _two_layers("web", namespace))
    wait_for("web-infra", lambda: kustomization(admin, namespace, "web-infra"))
    _reconciled(admin, namespace, "web")
    admin.patch(
        _kustomization_res(),
        "web-infra",
        {"spec": {"path": "./hacked", "prune": True}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )
    edited = time.monotonic()

    def restored() -> bool:
        spec = (kustomization(admin, namespace, "web-infra") or {}).get("spec") or {}
        return spec.get("path") == "./infra" and spec.get("prune") is False

    wait_for("the hand edit to be undone", restored, timeout=10)
    assert time.monotonic() - edited < 2.0


def test_kustomization_deleted_is_recreated(admin: Client, namespace: str) -> None:
    apply_fluxconfig(admin, _two_layers("web", namespace))
    first = wait_for("web-apps", lambda: kustomization(admin, namespace, "web-apps"))
    _reconciled(admin, namespace, "web")
    admin.delete(_kustomization_res(), "web-apps", namespace=namespace)
    deleted = time.monotonic()

    def recreated() -> dict[str, Any] | None:
        live = kustomization(admin, namespace, "web-apps")
        return live if live and live["metadata"]["uid"] != first["metadata"]["uid"] else None

    wait_for("web-apps to come back", recreated, timeout=10)
    assert time.monotonic() - deleted < 2.0


def test_fluxconfig_changed_updates_objects_and_removes_stale_ones(
    admin: Client, namespace: str
) -> None:
    apply_fluxconfig(admin, _two_layers("web", namespace))
    wait_for("web-apps", lambda: kustomization(admin, namespace, "web-apps"))
    changed = https_config(
        "web", namespace, infra={"path": "infra/v2"}, web={"path": "web", "dependsOn": ["infra"]}
    )
    apply_fluxconfig(admin, changed)
    wait_for("web-web", lambda: kustomization(admin, namespace, "web-web"))
    wait_for("web-apps to be removed", lambda: kustomization(admin, namespace, "web-apps") is None)
    infra = kustomization(admin, namespace, "web-infra") or {}
    assert infra["spec"]["path"] == "./infra/v2"
    status = _reconciled(admin, namespace, "web", generation=2)
    assert [s["name"] for s in status["statuses"]] == ["web", "web-infra", "web-web"]


def test_fluxconfig_deleted_removes_everything_and_its_finalizer(
    admin: Client, namespace: str
) -> None:
    apply_fluxconfig(admin, _two_layers("web", namespace))
    wait_for("web-apps", lambda: kustomization(admin, namespace, "web-apps"))
    _reconciled(admin, namespace, "web")
    admin.delete(_fluxconfig_res(), "web", namespace=namespace)
    wait_for("the FluxConfig to go", lambda: fluxconfig(admin, namespace, "web") is None)
    for api_version, kind, name, where in (
        (KUSTOMIZE, "Kustomization", "web-infra", namespace),
        (KUSTOMIZE, "Kustomization", "web-apps", namespace),
        (SOURCE, "GitRepository", "web", namespace),
        ("v1", "Secret", "web-auth", namespace),
        ("v1", "ServiceAccount", "flux-applier", namespace),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", f"flux-applier-{namespace}", ""),
    ):
        assert read_object(admin, ObjectKey(api_version, kind, where, name)) is None, kind


def test_ssh_source_without_a_key_gets_one_generated_in_the_cluster(
    admin: Client, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    raw = {
        "name": "ssh",
        "namespace": namespace,
        "gitRepository": {"url": "git@github.com:example/fleet.git"},
    }
    apply_fluxconfig(admin, raw)
    key = ObjectKey("v1", "Secret", namespace, "ssh-auth")
    secret = wait_for("the key Secret", lambda: read_object(admin, key))
    private = base64.b64decode(secret["data"]["identity"]).decode()
    public = base64.b64decode(secret["data"]["identity.pub"]).decode()
    assert public == public_key_of(private)
    assert public.startswith("ssh-ed25519 ")
    status = wait_for(
        "the public key in status",
        lambda: status_of(admin, namespace, "ssh").get("repositoryPublicKey"),
    )
    assert status == public
    assert (git_repository(admin, namespace, "ssh") or {})["spec"]["secretRef"] == {
        "name": "ssh-auth"
    }
    secret_lines = [line for line in private.splitlines() if line and "-----" not in line]
    assert any("generated an ed25519 key" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert not any(line in text for line in secret_lines), record.name
    assert not any(line in json.dumps(fluxconfig(admin, namespace, "ssh")) for line in secret_lines)


def test_compliance_moves_from_pending_to_compliant_to_non_compliant(
    admin: Client, namespace: str
) -> None:
    apply_fluxconfig(admin, https_config("web", namespace, infra={"path": "infra"}))
    assert _reconciled(admin, namespace, "web")["complianceState"] == "Pending"
    source = ObjectKey(SOURCE, "GitRepository", namespace, "web")
    infra = ObjectKey(KUSTOMIZE, "Kustomization", namespace, "web-infra")
    commit = "0123456789abcdef0123456789abcdef01234567"
    artifact = {
        "revision": f"main@sha1:{commit}",
        "path": "p",
        "url": "http://x/p.tar.gz",
        "digest": "sha256:" + "0" * 64,
        "lastUpdateTime": "2026-01-01T00:00:00Z",
    }
    _write_flux_status(admin, source, "True", "Succeeded", "stored artifact", artifact=artifact)
    _write_flux_status(admin, infra, "True", "ReconciliationSucceeded", "Applied revision")

    def state(wanted: str) -> dict[str, Any] | None:
        status = status_of(admin, namespace, "web")
        return status if status.get("complianceState") == wanted else None

    compliant = wait_for("Compliant", lambda: state("Compliant"))
    assert compliant["sourceSyncedCommitId"] == commit
    assert (ready(admin, namespace, "web") or {}).get("status") == "True"
    _write_flux_status(
        admin, infra, "False", "BuildFailed", "kustomization path not found: ./infra"
    )
    broken = wait_for("Non-Compliant", lambda: state("Non-Compliant"))
    assert broken["errorMessage"] == (
        "Kustomization/web-infra: BuildFailed: kustomization path not found: ./infra"
    )
    condition = ready(admin, namespace, "web") or {}
    assert (condition.get("status"), condition.get("reason")) == ("False", "ReconciliationFailed")


def test_invalid_fluxconfig_is_stalled_with_a_reason_and_message(
    admin: Client, namespace: str, reconciler: ReconcilerThread
) -> None:
    body: dict[str, Any] = {
        "apiVersion": FLUXCONFIG_API_VERSION,
        "kind": FLUXCONFIG_KIND,
        "metadata": {"name": "bad", "namespace": namespace},
        "spec": {"sourceKind": "GitRepository", "gitRepository": {"url": "ftp://example.com/r"}},
    }
    admin.apply(codecs.from_dict(body), force=True)

    def stalled() -> dict[str, Any] | None:
        conditions = status_of(admin, namespace, "bad").get("conditions") or []
        return next(
            (c for c in conditions if c["type"] == "Stalled" and c["status"] == "True"), None
        )

    condition = wait_for("Stalled", stalled)
    assert condition["reason"] == REASON_INVALID
    assert condition["message"].startswith(f"FluxConfig {namespace}/bad is invalid (1 error)")
    assert "gitRepository.url" in condition["message"]
    before = reconciler.reconciler.reconciles
    time.sleep(1.5)
    assert reconciler.reconciler.reconciles - before <= 1  # no retry loop on a permanent error
    fixed = {**body, "spec": {**body["spec"], "gitRepository": {"url": "https://h.example/r"}}}
    admin.apply(codecs.from_dict(fixed), force=True)
    wait_for("the fixed FluxConfig's objects", lambda: git_repository(admin, namespace, "bad"))
    assert _reconciled(admin, namespace, "bad", generation=2)["complianceState"] == "Pending"


def test_suspended_fluxconfig_is_left_alone_until_resumed(admin: Client, namespace: str) -> None:
    raw = {**https_config("web", namespace), "suspend": True}
    apply_fluxconfig(admin, raw)
    live = wait_for("web-infra", lambda: kustomization(admin, namespace, "web-infra"))
    assert live["spec"]["suspend"] is True
    assert _reconciled(admin, namespace, "web")["complianceState"] == "Suspended"
    admin.patch(
        _kustomization_res(),
        "web-infra",
        {"spec": {"path": "./by-hand"}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )
    time.sleep(1.0)
    assert (kustomization(admin, namespace, "web-infra") or {})["spec"]["path"] == "./by-hand"
    apply_fluxconfig(admin, {**raw, "suspend": False})

    def resumed() -> bool:
        spec = (kustomization(admin, namespace, "web-infra") or {}).get("spec") or {}
        return spec.get("path") == "./infra" and "suspend" not in spec

    wait_for("the resumed configuration to be applied", resumed)


def test_missing_protected_settings_are_waited_for(admin: Client, namespace: str) -> None:
    spec = parse_configuration(https_config("web", namespace))
    manifests = render_configuration(spec, RenderOptions())
    fluxconfig_only = next(m for m in manifests if m.key.kind == FLUXCONFIG_KIND)
    admin.apply(codecs.from_dict(fluxconfig_only.to_dict()), force=True)

    def waiting() -> dict[str, Any] | None:
        condition = ready(admin, namespace, "web") or {}
        return dict(condition) if condition.get("reason") == "ProgressingWithRetry" else None

    condition = wait_for("ProgressingWithRetry", waiting)
    assert "protected settings Secret" in condition["message"]
    assert git_repository(admin, namespace, "web") is None
    apply_fluxconfig(admin, https_config("web", namespace))  # the applier catches up
    wait_for("the objects once the Secret exists", lambda: git_repository(admin, namespace, "web"))


def test_deletion_blocked_by_a_flux_finalizer_ends_after_the_timeout(
    admin: Client, namespace: str
) -> None:
    apply_fluxconfig(admin, https_config("web", namespace))
    wait_for("web-infra", lambda: kustomization(admin, namespace, "web-infra"))
    admin.patch(
        _kustomization_res(),
        "web-infra",
        {"metadata": {"finalizers": [FLUX_FINALIZER]}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )
    deleted = time.monotonic()
    admin.delete(_fluxconfig_res(), "web", namespace=namespace)
    wait_for("the FluxConfig to go", lambda: fluxconfig(admin, namespace, "web") is None, 20)
    assert time.monotonic() - deleted >= 1.5  # held until the 3 s deletion timeout (1 s clock)
    assert kustomization(admin, namespace, "web-infra") is None


def test_force_finalize_annotation_leaves_objects_in_place(admin: Client, namespace: str) -> None:
    apply_fluxconfig(admin, https_config("web", namespace))
    wait_for("web-infra", lambda: kustomization(admin, namespace, "web-infra"))
    admin.patch(
        _kustomization_res(),
        "web-infra",
        {"metadata": {"finalizers": [FLUX_FINALIZER]}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )
    admin.patch(
        _fluxconfig_res(),
        "web",
        {"metadata": {"annotations": {ANNOTATION_FORCE_FINALIZE: "true"}}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )
    deleted = time.monotonic()
    admin.delete(_fluxconfig_res(), "web", namespace=namespace)
    wait_for("the FluxConfig to go", lambda: fluxconfig(admin, namespace, "web") is None)
    assert time.monotonic() - deleted < 2.0  # well before the deletion timeout
    assert kustomization(admin, namespace, "web-infra") is not None
    admin.patch(
        _kustomization_res(),
        "web-infra",
        {"metadata": {"finalizers": None}},
        namespace=namespace,
        patch_type=PatchType.MERGE,
    )


def test_liveness_endpoint_reports_a_leading_healthy_reconciler(
    reconciler: ReconcilerThread,
) -> None:
    url = reconciler.reconciler.options.liveness_endpoint
    assert url is not None
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.status == 200
        report = json.loads(answer.read())["reconciler"]
    assert report["leading"] is True
    assert reconciler.reconciler.problems() == []


def test_stuck_watch_makes_liveness_fail() -> None:
    idle = Reconciler(ReconcilerOptions(watch_stale_after=30.0))
    idle.lease_seen_at, idle.lease_changed_at = 100.0, 120.0
    assert idle.problems() == []
    idle.lease_changed_at = 200.0
    assert "the watch is stuck" in idle.problems()[0]
