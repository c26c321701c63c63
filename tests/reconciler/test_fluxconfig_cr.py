"""The pure side of the reconciler: FluxConfig CR → spec, owned objects, drift, status, queue.

The round trip over every golden configuration is what keeps
``PROTECTED_SETTINGS`` (the inverse of the auth Secret layout) and the
renderer in step.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml
from lightkube import ApiError

from fluxgitops.errors import ClusterUnavailableError, SpecError
from fluxgitops.fluxconfig_cr import (
    REASON_FAILED,
    REASON_INVALID,
    REASON_PROGRESSING,
    REASON_SUCCEEDED,
    Outcome,
    build_status,
    configuration_from_cr,
    decode_secret_data,
    deletable,
    drifted,
    flux_keys,
    foreign_owner,
    identity_from_secret,
    inventory_keys,
    owned_manifests,
    stale_keys,
    status_changed,
    view,
    with_inventory,
)
from fluxgitops.kinds import MANAGED_KINDS
from fluxgitops.kube.boundary import translate
from fluxgitops.render import Manifest, ObjectKey, RenderOptions, render_configuration
from fluxgitops.render.meta import labels_for
from fluxgitops.spec import parse_configuration
from fluxgitops.sshkeys import generate_ed25519
from reconciler.actions import is_temporary, retry_after
from reconciler.inventory import Inventory
from reconciler.workqueue import Backoff, WorkQueue

CASES = sorted((Path(__file__).parent.parent / "testdata" / "render").glob("*.input.yaml"))
NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:05:00Z"


def _cr(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str] | None, list[Manifest]]:
    """The FluxConfig spec and decoded auth Secret the provider would apply for ``raw``."""
    manifests = render_configuration(parse_configuration(raw), RenderOptions())
    fluxconfig = next(m for m in manifests if m.key.kind == "FluxConfig")
    secret = next(
        (m for m in manifests if m.is_secret and m.key.name.endswith("-auth")),
        None,
    )
    data = decode_secret_data(secret.body["data"]) if secret is not None else None
    return dict(fluxconfig.body["spec"]), data, manifests


@pytest.mark.parametrize("case", CASES, ids=[c.name.removesuffix(".input.yaml") for c in CASES])
def test_fluxconfig_round_trips_to_the_same_spec(case: Path) -> None:
    raw = yaml.safe_load(case.read_text())["configuration"]
    cr_spec, secret, manifests = _cr(raw)
    desired = configuration_from_cr(raw["name"], raw.get("namespace", "default"), cr_spec, secret)
    assert desired.spec == parse_configuration(raw)
    owned = {m.key for m in owned_manifests(desired, None)}
    rendered = {m.key for m in manifests if m.key.kind != "FluxConfig"}
    assert owned == rendered - {desired.auth_secret}
    assert {(k.api_version, k.kind) for k in rendered} <= set(MANAGED_KINDS)


def test_generated_key_secret_is_owned_and_keeps_its_key() -> None:
    raw = {"name": "ssh", "namespace": "t", "gitRepository": {"url": "git@github.com:o/r.git"}}
    cr_spec, _, _ = _cr(raw)
    assert cr_spec["generateSshKey"] is True
    identity = generate_ed25519()
    secret = {"identity": identity.private_key.get_secret_value(), "identity.pub": "x"}
    desired = configuration_from_cr("ssh", "t", cr_spec, secret)
    assert desired.generate_ssh_key  # identity is the generated key, not an inline sshPrivateKey
    found = identity_from_secret(secret)
    assert found is not None
    assert found.public_key == identity.public_key
    keys = {m.key for m in owned_manifests(desired, found)}
    assert desired.auth_secret in keys


def test_invalid_spec_names_the_fluxconfig_and_every_error() -> None:
    with pytest.raises(SpecError) as error:
        configuration_from_cr(
            "bad",
            "team",
            {"gitRepository": {"url": "ftp://x"}, "kustomizations": {"a": {"dependsOn": ["a"]}}},
        )
    assert str(error.value).startswith("FluxConfig team/bad is invalid (2 errors)")


def test_drift_ignores_server_defaults_and_hashes_secret_values() -> None:
    desired = view(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}}
    )
    assert desired["data"]["k"].startswith("sha256:")
    live = view(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "uid": "1", "managedFields": [{"manager": "x"}]},
            "data": {"k": "dg==", "other": "eA=="},
            "type": "Opaque",
        }
    )
    assert live["metadata"]["managedFields"] == [{"manager": "x", "operation": ""}]  # who, not what
    assert not drifted(live, desired)
    live["data"]["k"] = view({"kind": "Secret", "apiVersion": "v1", "data": {"k": "dw=="}})["data"][
        "k"
    ]
    assert drifted(live, desired)


def _flux(
    ready: str | None, *, generation: int = 1, reason: str = "", message: str = ""
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "k", "namespace": "n", "generation": generation},
    }
    if ready is not None:
        body["status"] = {
            "observedGeneration": generation,
            "conditions": [
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": NOW,
                }
            ],
        }
    return body


def test_status_moves_pending_compliant_non_compliant() -> None:
    key = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "n", "k")
    applied = Outcome("applied", 3, applied=4)
    pending = build_status(None, outcome=applied, flux=[(key, None)], now=NOW)
    ready = {c["type"]: c for c in pending["conditions"]}
    assert pending["complianceState"] == "Pending"
    assert (ready["Ready"]["status"], ready["Ready"]["reason"]) == ("Unknown", REASON_PROGRESSING)
    assert pending["observedGeneration"] == 3

    compliant = build_status(pending, outcome=applied, flux=[(key, _flux("True"))], now=LATER)
    ready = {c["type"]: c for c in compliant["conditions"]}
    assert compliant["complianceState"] == "Compliant"
    assert (ready["Ready"]["status"], ready["Ready"]["reason"]) == ("True", REASON_SUCCEEDED)
    assert ready["Ready"]["lastTransitionTime"] == LATER
    assert compliant["statuses"][0]["statusConditions"][0]["type"] == "Ready"

    same = build_status(
        compliant, outcome=applied, flux=[(key, _flux("True"))], now="2027-01-01T00:00:00Z"
    )
    assert not status_changed(compliant, same)
    assert same["statusUpdatedAt"] == compliant["statusUpdatedAt"]

    failing = _flux("False", reason="BuildFailed", message="kustomize build failed")
    broken = build_status(compliant, outcome=applied, flux=[(key, failing)], now=LATER)
    ready = {c["type"]: c for c in broken["conditions"]}
    assert broken["complianceState"] == "Non-Compliant"
    assert broken["errorMessage"] == "Kustomization/k: BuildFailed: kustomize build failed"
    assert (ready["Ready"]["status"], ready["Ready"]["reason"]) == ("False", REASON_FAILED)


def test_status_non_compliant_for_a_source_that_never_fetched() -> None:
    key = ObjectKey("source.toolkit.fluxcd.io/v1", "GitRepository", "n", "r")
    source = {
        "kind": "GitRepository",
        "metadata": {"name": "r", "namespace": "n", "generation": 1},
        "status": {
            "observedGeneration": -1,
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "GitOperationFailed", "message": "x"}
            ],
        },
    }
    status = build_status(
        None, outcome=Outcome("applied", 1, applied=3), flux=[(key, source)], now=NOW
    )
    assert status["complianceState"] == "Non-Compliant"
    assert status["errorMessage"] == "GitRepository/r: GitOperationFailed: x"


def test_status_lists_applied_helm_releases_with_applied_by() -> None:
    key = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "n", "k")
    release = ObjectKey("helm.toolkit.fluxcd.io/v2", "HelmRelease", "n", "web")
    failing = {
        "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "n", "generation": 1},
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "False", "reason": "InstallFailed"}],
            "installFailures": 2,
        },
    }
    status = build_status(
        None,
        outcome=Outcome("applied", 1, applied=3),
        flux=[(key, _flux("True"))],
        deployed=[(release, failing, ("n", "k"))],
        now=NOW,
    )
    assert status["complianceState"] == "Non-Compliant"
    entry = status["statuses"][1]
    assert (entry["kind"], entry["appliedBy"]) == ("HelmRelease", {"namespace": "n", "name": "k"})
    assert entry["helmReleaseProperties"]["installFailureCount"] == 2


def test_view_keeps_only_the_flux_objects_of_an_inventory() -> None:
    body = _flux("True")
    body["status"]["inventory"] = {
        "entries": [
            {"id": "n_web_apps_Deployment", "v": "v1"},
            {"id": "n_web_helm.toolkit.fluxcd.io_HelmRelease", "v": "v2"},
        ]
    }
    kept = view(body)["status"]["inventory"]["entries"]
    assert kept == [{"id": "n_web_helm.toolkit.fluxcd.io_HelmRelease", "v": "v2"}]
    assert "inventory" not in view(_flux("True"))["status"]


def test_invalid_outcome_is_stalled() -> None:
    status = build_status(
        None, outcome=Outcome("invalid", 2, "FluxConfig a/b is invalid"), flux=[], now=NOW
    )
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Stalled"]["status"] == "True"
    assert conditions["Stalled"]["reason"] == REASON_INVALID
    assert status["errorMessage"] == "FluxConfig a/b is invalid"


def test_stale_keys_keep_the_protected_secret() -> None:
    a, b, c = (ObjectKey("v1", "Secret", "n", x) for x in "abc")
    assert stale_keys([a, b, c], [a], keep=[c]) == [b]
    manifests = render_configuration(
        parse_configuration({"name": "x", "gitRepository": {"url": "https://h/r"}})
    )
    assert [k.kind for k in flux_keys(manifests)] == ["GitRepository", "Kustomization"]


def test_object_events_mean_drift_status_or_prune() -> None:
    inventory = Inventory()
    config = {"metadata": {"name": "c", "namespace": "n", "generation": 1, "resourceVersion": "5"}}
    assert inventory.fluxconfig_event(None, config) == (("n", "c"), "full")
    labels = {"fluxgitops.io/configuration": "c", "fluxgitops.io/configuration-namespace": "n"}
    desired: dict[str, Any] = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "c-a", "namespace": "n", "labels": labels},
        "spec": {"path": "./a"},
    }
    key = Manifest(desired).key
    inventory.publish(("n", "c"), {key: view(desired)}, None)
    live = {**desired, "metadata": {**desired["metadata"], "resourceVersion": "7"}}
    assert inventory.object_event("MODIFIED", {**live, "status": {"x": 1}}) == [(("n", "c"), False)]
    edited = {
        **live,
        "metadata": {**live["metadata"], "resourceVersion": "8"},
        "spec": {"path": "./b"},
    }
    assert inventory.object_event("MODIFIED", edited) == [(("n", "c"), True)]
    assert inventory.object_event("MODIFIED", {**live, "spec": {"path": "./c"}}) == []  # older
    stale = {**live, "metadata": {**live["metadata"], "name": "c-old", "resourceVersion": "9"}}
    assert inventory.object_event("ADDED", stale) == [(("n", "c"), True)]
    assert inventory.owned_keys("n", "c") == {key, Manifest(stale).key}


def test_workqueue_merges_and_never_hands_out_a_key_twice() -> None:
    async def scenario() -> list[tuple[str, bool]]:
        queue: WorkQueue[str] = WorkQueue()
        queue.add("a", full=False)
        queue.add("a", full=True)
        queue.add("b", full=False)
        got = [await queue.get()]
        queue.add("a", full=False)  # while "a" is being worked on
        got.append(await queue.get())
        queue.done("a")
        got.append(await queue.get())
        queue.add("c", delay=0.05)
        got.append(await asyncio.wait_for(queue.get(), 1))
        queue.close()
        return got

    assert asyncio.run(scenario()) == [("a", True), ("b", False), ("a", False), ("c", True)]
    backoff = Backoff(0.5, 4)
    assert [backoff.next("k") for _ in range(5)] == [0.5, 1, 2, 4, 4]
    backoff.reset("k")
    assert backoff.next("k") == 0.5


def _api_error(code: int, headers: dict[str, str] | None = None) -> ApiError:
    request = httpx2.Request("PATCH", "https://x/y")
    response = httpx2.Response(
        code,
        json={"kind": "Status", "code": code, "message": "m"},
        headers=headers,
        request=request,
    )
    return ApiError(request=request, response=response)


@pytest.mark.parametrize(
    ("code", "temporary"), [(409, True), (410, True), (429, True), (422, False), (403, False)]
)
def test_conflict_gone_and_throttling_are_retried(code: int, temporary: bool) -> None:
    assert is_temporary(translate(_api_error(code), "FluxConfig a/b")) is temporary


def test_retry_after_is_honoured_and_unreachable_is_temporary() -> None:
    throttled = _api_error(429, {"Retry-After": "7"})
    assert retry_after(translate(throttled, "FluxConfig a/b")) == 7.0
    assert is_temporary(ClusterUnavailableError("down"))


# ---------------------------------------------------------------- ownership and inventory

OTHER = "other-tool"


def _live(labels: dict[str, str], *managers: tuple[str, str]) -> dict[str, Any]:
    return {
        "metadata": {
            "labels": labels,
            "managedFields": [{"manager": m, "operation": op} for m, op in managers],
        }
    }


def test_object_with_our_labels_and_managers_is_ours_to_write() -> None:
    ours = labels_for("web", "team")
    live = _live(ours, ("fluxgitops-reconciler", "Apply"), ("kubectl-edit", "Update"))
    assert foreign_owner(ours, None) is None
    assert foreign_owner(ours, view(live)) is None  # a hand edit is drift, not an owner


def test_object_without_our_labels_names_its_manager() -> None:
    owner = foreign_owner(labels_for("web", "team"), _live({}, (OTHER, "Apply")))
    assert owner == f"no fluxgitops labels; field manager {OTHER!r}"


def test_object_of_another_configuration_names_it() -> None:
    live = _live(labels_for("a", "team"), ("fluxgitops-reconciler", "Apply"))
    owner = foreign_owner(labels_for("a-b", "team"), live)
    assert owner == "FluxConfig team/a (by its labels)"


def test_object_with_our_labels_applied_by_another_tool_is_not_ours() -> None:
    ours = labels_for("web", "team")
    live = _live(ours, ("fluxgitops-reconciler", "Apply"), (OTHER, "Apply"))
    assert foreign_owner(ours, live) == f"field manager {OTHER!r}"


def test_labelled_object_is_deletable_only_when_we_wrote_it() -> None:
    ours = labels_for("web", "team")
    assert deletable(ours, _live(ours, ("fluxgitops", "Apply")), recorded=False)
    assert not deletable(ours, _live(ours, (OTHER, "Update")), recorded=False)
    assert deletable(ours, _live(ours, (OTHER, "Update")), recorded=True)
    assert not deletable(ours, _live(labels_for("a", "team")), recorded=True)


def test_inventory_ids_are_fluxs_and_read_back() -> None:
    keys = [
        ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "team", "web-infra"),
        ObjectKey("v1", "ServiceAccount", "team", "flux-applier"),
        ObjectKey("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "flux-applier-team"),
    ]
    status = with_inventory({"complianceState": "Pending"}, keys)
    assert status["inventory"]["entries"] == [
        {"id": "_flux-applier-team_rbac.authorization.k8s.io_ClusterRoleBinding", "v": "v1"},
        {"id": "team_flux-applier__ServiceAccount", "v": "v1"},
        {"id": "team_web-infra_kustomize.toolkit.fluxcd.io_Kustomization", "v": "v1"},
    ]
    assert sorted(inventory_keys(status)) == sorted(keys)
    assert inventory_keys({"inventory": {"entries": [{"id": "bad"}, "x"]}}) == []
