"""The dynamic provider against the real local kube-apiserver (no Pulumi engine involved).

Each test drives the provider the way the engine does: check → diff →
create/update/delete/read, with the outputs of one step as ``olds`` of the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lightkube import ApiError, Client, codecs
from lightkube.resources.core_v1 import Secret
from pulumi.runtime import rpc

from fluxgitops.diff import diff_manifests
from fluxgitops.errors import ApplyConflictError
from fluxgitops.fluxconfig.ownership import inventory_keys
from fluxgitops.kube.apply import write_inventory
from fluxgitops.kube.client import resource_for
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.gitserver import DEFAULT_BRANCH, GitServer
from fluxgitops.manifest import ObjectKey
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND
from providers.fluxconfig import FluxConfigurationProvider
from providers.objectset import (
    OBJECTS_DIGEST,
    RENDERED_BY,
    Desired,
    client_for,
    objects_digest,
    render_fingerprint,
)

TOKEN = "ghp_provider-test-token-0123"
_names = itertools.count()


@pytest.fixture
def provider() -> FluxConfigurationProvider:
    """A fresh provider object (it holds no state, as in the engine)."""
    return FluxConfigurationProvider()


@pytest.fixture
def inputs(control_plane: ControlPlane) -> dict[str, Any]:
    """Inputs for a configuration with a unique name/namespace and HTTPS credentials."""
    n = next(_names)
    return {
        "spec": {
            "name": f"web-{n}",
            "namespace": f"prov-{n}",
            "gitRepository": {"url": "https://example.com/r.git", "httpsUser": "bot"},
            "kustomizations": {
                "infra": {"path": "infra"},
                "apps": {"path": "apps", "dependsOn": ["infra"]},
            },
        },
        "secrets": {"gitRepository.httpsKey": TOKEN},
        "kubeconfig": str(control_plane.kubeconfig),
        "multi_tenancy": True,
    }


@pytest.fixture
def created(
    provider: FluxConfigurationProvider, inputs: dict[str, Any], admin: Client
) -> Iterator[dict[str, Any]]:
    """Outputs of a create (checked inputs → create); deleted afterwards if still there."""
    checked = provider.check({}, inputs).inputs
    outs = dict(provider.create(checked).outs or {})
    yield outs
    with contextlib.suppress(Exception):  # best-effort cleanup of a test that already failed
        provider.delete("x", outs)


def engine_round_trip(props: dict[str, Any]) -> dict[str, Any]:
    """``props`` as the provider receives them back from the engine: serialized to a protobuf
    Struct and deserialized (numbers come back as floats)."""
    loop = asyncio.new_event_loop()
    try:
        struct = loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()
    return dict(rpc.deserialize_properties(struct, True))


def kustomization(admin: Client, namespace: str, name: str) -> Any:
    """The live Kustomization or None."""
    try:
        return admin.get(
            resource_for("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
            name,
            namespace=namespace,
        )
    except ApiError:
        return None


def test_check_reports_every_error_with_property_paths(
    provider: FluxConfigurationProvider, inputs: dict[str, Any]
) -> None:
    inputs["spec"]["gitRepository"]["url"] = "ftp://x"
    inputs["spec"]["kustomizations"]["infra"]["dependsOn"] = ["apps"]
    result = provider.check({}, inputs)
    assert sorted(f.property for f in result.failures) == [
        "spec.gitRepository.url",
        "spec.kustomizations.apps.dependsOn",
    ]
    assert next(f.reason for f in result.failures if "dependsOn" in f.property) == (
        "dependency cycle: apps → infra → apps"
    )


def test_check_adds_masked_preview_objects(
    provider: FluxConfigurationProvider, inputs: dict[str, Any]
) -> None:
    objects = provider.check({}, inputs).inputs["objects"]
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    assert f"Kustomization {ns}/{name}-apps" in objects
    assert objects[f"Secret {ns}/{name}-auth"]["data"]["password"] == "[secret]"
    assert TOKEN not in repr(objects)


class NoRender(FluxConfigurationProvider):
    """A provider that fails if it parses or renders."""

    def desire(self, props: dict[str, Any]) -> Desired:
        raise AssertionError("rendered again")


def test_unchanged_inputs_reuse_the_last_checks_objects(
    provider: FluxConfigurationProvider, inputs: dict[str, Any]
) -> None:
    checked = engine_round_trip(provider.check({}, inputs).inputs)
    again = NoRender().check(checked, copy.deepcopy(inputs))
    assert again.failures == []
    assert again.inputs["objects"] == checked["objects"]
    assert again.inputs[RENDERED_BY] == render_fingerprint()


def test_changed_inputs_render_again(
    provider: FluxConfigurationProvider, inputs: dict[str, Any]
) -> None:
    checked = provider.check({}, inputs).inputs
    inputs["spec"]["kustomizations"]["apps"]["prune"] = True
    with pytest.raises(AssertionError, match="rendered again"):
        NoRender().check(checked, inputs)


def test_objects_rendered_by_other_code_render_again(
    provider: FluxConfigurationProvider, inputs: dict[str, Any]
) -> None:
    checked = {**provider.check({}, inputs).inputs, RENDERED_BY: "an older fluxgitops"}
    with pytest.raises(AssertionError, match="rendered again"):
        NoRender().check(checked, inputs)


def test_source_checks_never_reuse_the_last_objects(
    provider: FluxConfigurationProvider, inputs: dict[str, Any]
) -> None:
    checked = provider.check({}, inputs).inputs
    with pytest.raises(AssertionError, match="rendered again"):
        NoRender().check({**checked, "source_check": "warn"}, {**inputs, "source_check": "warn"})


def test_create_applies_every_object(
    created: dict[str, Any], admin: Client, inputs: dict[str, Any]
) -> None:
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    assert kustomization(admin, ns, f"{name}-apps")["spec"]["dependsOn"] == [
        {"name": f"{name}-infra"}
    ]
    secret = admin.get(Secret, f"{name}-auth", namespace=ns)
    assert secret.data is not None
    assert sorted(secret.data) == ["password", "username"]
    assert created["compliance_state"] == "Pending"
    assert TOKEN not in repr({k: v for k, v in created.items() if k != "secrets"})


def test_second_diff_shows_no_change(
    provider: FluxConfigurationProvider, created: dict[str, Any], inputs: dict[str, Any]
) -> None:
    checked = provider.check(created, inputs).inputs
    result = provider.diff("x", created, checked)
    assert result.changes is False
    assert result.replaces == []


def test_outputs_record_the_objects_digest_not_the_objects(
    provider: FluxConfigurationProvider, created: dict[str, Any], inputs: dict[str, Any]
) -> None:
    checked = provider.check({}, inputs).inputs
    assert "objects" not in created
    assert created[OBJECTS_DIGEST] == objects_digest(checked["objects"])


def test_second_diff_after_the_engine_round_trip_shows_no_change(
    provider: FluxConfigurationProvider, created: dict[str, Any], inputs: dict[str, Any]
) -> None:
    olds = engine_round_trip(created)
    news = engine_round_trip(provider.check(olds, inputs).inputs)
    assert provider.diff("x", olds, news).changes is False


def test_diff_of_outputs_holding_objects_compares_them_field_by_field(
    provider: FluxConfigurationProvider, created: dict[str, Any], inputs: dict[str, Any]
) -> None:
    checked = provider.check(created, inputs).inputs
    refreshed = {**created, "objects": copy.deepcopy(checked["objects"])}
    refreshed[OBJECTS_DIGEST] = "stale"  # objects read live win over the recorded digest
    assert provider.diff("x", refreshed, checked).changes is False
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    refreshed["objects"][f"Kustomization {ns}/{name}-apps"]["spec"]["interval"] = "99m"
    assert provider.diff("x", refreshed, checked).changes is True


def test_one_client_per_cluster_per_process(inputs: dict[str, Any], tmp_path: Path) -> None:
    assert client_for(inputs) is client_for(dict(inputs))
    content = Path(inputs["kubeconfig"]).read_text()
    inline = client_for({**inputs, "kubeconfig": None, "kubeconfig_content": content})
    assert inline is not client_for(inputs)
    assert inline is client_for({**inputs, "kubeconfig": None, "kubeconfig_content": content})
    copied = tmp_path / "kubeconfig"
    copied.write_text(Path(inputs["kubeconfig"]).read_text())
    first = client_for({**inputs, "kubeconfig": str(copied)})
    copied.write_text(copied.read_text() + "\n")  # rewritten: a new connection
    assert client_for({**inputs, "kubeconfig": str(copied)}) is not first


def test_changing_one_interval_changes_exactly_that_field(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    before = provider.check({}, copy.deepcopy(inputs)).inputs["objects"]
    inputs["spec"]["kustomizations"]["apps"]["syncInterval"] = "3m"
    checked = provider.check(created, inputs).inputs
    assert provider.diff("x", created, checked).changes is True
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    diff = diff_manifests(before.values(), checked["objects"].values())
    paths = {str(c.key): [f.path for f in c.fields] for c in diff.of("update")}
    assert paths[f"Kustomization {ns}/{name}-apps"] == ["spec.interval", "spec.retryInterval"]
    provider.update("x", created, checked)
    assert kustomization(admin, ns, f"{name}-apps")["spec"]["interval"] == "3m"


def test_namespace_change_is_a_replace(
    provider: FluxConfigurationProvider, created: dict[str, Any], inputs: dict[str, Any]
) -> None:
    inputs["spec"]["namespace"] = "elsewhere"
    result = provider.diff("x", created, provider.check(created, inputs).inputs)
    assert result.replaces == ["spec"]
    assert result.delete_before_replace is True


def test_update_removes_objects_no_longer_rendered(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    inputs["spec"]["kustomizations"] = {"infra": {"path": "infra"}}
    outs = provider.update("x", created, provider.check(created, inputs).inputs).outs or {}
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    assert kustomization(admin, ns, f"{name}-apps") is None
    assert f"Kustomization {ns}/{name}-apps" not in outs["object_keys"]


def test_delete_leaves_nothing_behind(
    provider: FluxConfigurationProvider, created: dict[str, Any], admin: Client
) -> None:
    provider.delete("x", created)
    for text, api_version in created["object_keys"].items():
        kind, _, rest = text.partition(" ")
        namespace, _, name = rest.rpartition("/")
        with pytest.raises(ApiError) as info:
            admin.get(
                resource_for(api_version, kind),
                name,
                **({"namespace": namespace} if namespace else {}),
            )
        assert info.value.status.code == 404


def test_refresh_detects_a_kustomization_deleted_by_hand(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    admin.delete(
        resource_for("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
        f"{name}-apps",
        namespace=ns,
    )
    refreshed = provider.read("x", created).outs or {}
    assert f"Kustomization {ns}/{name}-apps" not in refreshed["objects"]
    assert provider.diff("x", refreshed, provider.check(refreshed, inputs).inputs).changes is True


def test_conflict_with_another_field_manager_is_reported(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    body = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": f"{name}-apps", "namespace": ns},
        "spec": {"interval": "1h"},
    }
    admin.apply(codecs.from_dict(body), field_manager="kubectl-edit", force=True)
    changed = copy.deepcopy(inputs)
    changed["spec"]["kustomizations"]["apps"]["prune"] = True
    with pytest.raises(ApplyConflictError) as info:
        provider.update("x", created, provider.check(created, changed).inputs)
    assert info.value.conflicts == ((".spec.interval", "kubectl-edit"),)
    changed["force_conflicts"] = True
    provider.update("x", created, provider.check(created, changed).inputs)
    assert kustomization(admin, ns, f"{name}-apps")["spec"]["interval"] == "10m"


@pytest.fixture(scope="module")
def git() -> Iterator[GitServer]:
    """A Git server on loopback with one repository (branch main, path deploy/)."""
    with GitServer() as server:
        server.create_repository("app")
        tree = server.work_tree("app")
        tree.write({"deploy/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"})
        tree.commit("first")
        tree.push()
        yield server


def test_source_check_failure_blocks_preview(
    provider: FluxConfigurationProvider, inputs: dict[str, Any], git: GitServer
) -> None:
    inputs["spec"]["gitRepository"] = {"url": git.url("app"), "repositoryRef": {"branch": "nope"}}
    inputs["spec"]["kustomizations"] = {"app": {"path": "deploy"}}
    inputs["secrets"] = {}
    inputs["source_check"] = "warn"
    failures = provider.check({}, inputs).failures
    assert [f.property for f in failures] == ["spec.gitRepository.repositoryRef.branch"]
    assert "nope" in failures[0].reason


def test_source_check_reports_the_commit(
    provider: FluxConfigurationProvider, inputs: dict[str, Any], git: GitServer
) -> None:
    inputs["spec"]["gitRepository"] = {
        "url": git.url("app"),
        "repositoryRef": {"branch": DEFAULT_BRANCH},
    }
    inputs["spec"]["kustomizations"] = {"app": {"path": "deploy"}}
    inputs["secrets"] = {}
    inputs["source_check"] = "warn"
    result = provider.check({}, inputs)
    assert result.failures == []
    assert len(result.inputs["source_report"]["commit"]) == 40


def test_with_the_reconciler_only_the_fluxconfig_and_secret_are_applied(
    provider: FluxConfigurationProvider, inputs: dict[str, Any], admin: Client
) -> None:
    inputs["reconciler_managed"] = True
    checked = provider.check({}, inputs).inputs
    outs = provider.create(checked).outs or {}
    try:
        name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
        assert sorted(outs["object_keys"]) == [
            f"FluxConfig {ns}/{name}",
            f"Secret {ns}/{name}-auth",
        ]
        assert f"Kustomization {ns}/{name}-apps" in checked["objects"]  # still previewed
        assert kustomization(admin, ns, f"{name}-apps") is None  # left to the reconciler
    finally:
        provider.delete("x", outs)


def ssh_inputs(**extra: Any) -> dict[str, Any]:
    """Inputs of an SSH source without a key (the reconciler would generate one)."""
    spec = {"name": "ssh", "namespace": "ssh", "gitRepository": {"url": "ssh://git@h/r.git"}}
    return {"spec": spec, "multi_tenancy": True, **extra}


def test_ssh_without_key_fails_check_when_the_reconciler_is_off(
    provider: FluxConfigurationProvider,
) -> None:
    result = provider.check({}, ssh_inputs(reconciler_managed=False))
    (failure,) = result.failures
    assert failure.property == "spec.gitRepository.sshPrivateKey"
    assert failure.reason.startswith("is required for an ssh:// URL when the reconciler is off")
    assert failure.reason.endswith("(got 'ssh://git@h/r.git')")


def test_ssh_without_key_passes_check_with_the_reconciler(
    provider: FluxConfigurationProvider,
) -> None:
    assert provider.check({}, ssh_inputs(reconciler_managed=True)).failures == []


# ---------------------------------------------------------------- the inventory (reconciler off)


def recorded(admin: Client, inputs: dict[str, Any]) -> list[str] | None:
    """The live FluxConfig's ``status.inventory`` as ``Kind ns/name`` strings (None: none)."""
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    live = admin.get(resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND), name, namespace=ns)
    status = live.to_dict().get("status") or {}
    return None if "inventory" not in status else sorted(map(str, inventory_keys(status)))


def forget(outs: dict[str, Any], text: str) -> dict[str, Any]:
    """``outs`` as a Pulumi state that never recorded ``text`` (saved before it was applied)."""
    olds = copy.deepcopy(outs)
    del olds["object_keys"][text]
    return olds


def test_create_records_every_applied_object_in_the_inventory(
    created: dict[str, Any], admin: Client, inputs: dict[str, Any]
) -> None:
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    assert recorded(admin, inputs) == sorted(
        t for t in created["object_keys"] if t != f"FluxConfig {ns}/{name}"
    )


def test_update_records_the_new_inventory(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    inputs["spec"]["kustomizations"] = {"infra": {"path": "infra"}}
    provider.update("x", created, provider.check(created, inputs).inputs)
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    inventory = recorded(admin, inputs) or []
    assert f"Kustomization {ns}/{name}-infra" in inventory
    assert f"Kustomization {ns}/{name}-apps" not in inventory


def test_update_removes_what_only_the_inventory_records(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    olds = forget(created, f"Kustomization {ns}/{name}-apps")
    inputs["spec"]["kustomizations"] = {"infra": {"path": "infra"}}
    provider.update("x", olds, provider.check(olds, inputs).inputs)
    assert kustomization(admin, ns, f"{name}-apps") is None


def test_delete_removes_what_only_the_inventory_records(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    provider.delete("x", forget(created, f"Kustomization {ns}/{name}-apps"))
    assert kustomization(admin, ns, f"{name}-apps") is None


def test_delete_with_the_fluxconfig_gone_falls_back_to_state(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    admin.delete(resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND), name, namespace=ns)
    provider.delete("x", created)
    assert kustomization(admin, ns, f"{name}-apps") is None
    assert kustomization(admin, ns, f"{name}-infra") is None


def test_refresh_shows_what_only_the_inventory_records(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    text = f"Kustomization {ns}/{name}-apps"
    olds = forget(created, text)
    inputs["spec"]["kustomizations"] = {"infra": {"path": "infra"}}
    olds["spec"] = inputs["spec"]  # the stack no longer renders it; only the inventory knows
    refreshed = provider.read("x", olds).outs or {}
    assert text in refreshed["objects"]
    assert provider.diff("x", refreshed, provider.check(refreshed, inputs).inputs).changes is True


def test_with_the_reconciler_the_provider_writes_no_inventory(
    provider: FluxConfigurationProvider, inputs: dict[str, Any], admin: Client
) -> None:
    inputs["reconciler_managed"] = True
    outs = provider.create(provider.check({}, inputs).inputs).outs or {}
    try:
        assert recorded(admin, inputs) is None  # the reconciler's to write
    finally:
        provider.delete("x", outs)


def test_refresh_without_an_inventory_reads_what_state_recorded(
    provider: FluxConfigurationProvider,
    created: dict[str, Any],
    inputs: dict[str, Any],
    admin: Client,
) -> None:
    name, ns = inputs["spec"]["name"], inputs["spec"]["namespace"]
    write_inventory(admin, ObjectKey(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, ns, name), [])
    olds = copy.deepcopy(created)
    inputs["spec"]["kustomizations"] = {"infra": {"path": "infra"}}
    olds["spec"] = inputs["spec"]  # no longer rendered, no longer recorded: state alone knows
    refreshed = provider.read("x", olds).outs or {}
    assert f"Kustomization {ns}/{name}-apps" in refreshed["objects"]
