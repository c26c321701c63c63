"""The FluxConfiguration dynamic provider: one configuration applied to a cluster as Flux objects.

Inputs: ``spec`` (the configuration without secret values), ``secrets`` (dotted
path → value, a Pulumi secret), ``kubeconfig`` / ``kubeconfig_content`` /
``context``, ``multi_tenancy``, ``force_conflicts``, ``remove_finalizers``,
``delete_timeout``. Check validates with ``parse_configuration`` (failures with
property paths; nothing is applied) and adds ``objects``, the rendered objects
with Secret values masked, so ``pulumi preview --diff`` shows which object and
field changes. ``name``, ``namespace`` and ``scope`` changes replace. Outputs
are the inputs without ``objects`` plus ``objects_digest`` (what the diff compares),
``object_keys``, ``compliance_state``, ``compliance_message``,
``source_synced_commit_id``, ``repository_public_key``. With the reconciler
off, an SSH source without a key fails the check (nothing would generate it).
With the reconciler off the provider records what it applied in the
FluxConfig's ``status.inventory`` (``inventory_holder``) and reads it back in
``read``, ``update`` and ``delete``, next to Pulumi state (stacks created
before, a FluxConfig already gone). A check whose inputs and rendering code are
those of the last check returns its objects without parsing
(``ObjectSetProvider.reusable``): the spec models and the renderer are imported
inside the methods that use them, so a no-change preview loads neither (they are
a third of the provider process's start-up). Create and update end when the
objects are applied; ``waitForReconciliation`` (Azure's name) is
``providers.reconciliation``, a resource of its own. The machinery is in
``providers.objectset``; this module only says how to render and what to
report. Used by ``components.flux_configuration``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
from lightkube import Client
from pulumi.dynamic import CheckFailure, CheckResult, Resource

from fluxgitops.errors import FluxGitOpsError, SourceCheckError, SourceUnavailableError
from fluxgitops.kinds import RBAC_KINDS, SOURCE_KINDS
from fluxgitops.kube.boundary import api_errors
from fluxgitops.kube.client import resource_for
from fluxgitops.manifest import ObjectKey
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, auth_secret_name
from fluxgitops.status import compliance, synced_commit
from providers.objectset import (
    TYPE_MODULE,
    Desired,
    ObjectSetProvider,
    client_for,
    with_old_type,
)

if TYPE_CHECKING:
    from fluxgitops.spec import FluxConfigurationSpec

OUTPUTS = (
    "objects",
    "object_keys",
    "compliance_state",
    "compliance_message",
    "source_synced_commit_id",
    "repository_public_key",
)


def spec_of(props: dict[str, Any]) -> FluxConfigurationSpec:
    """The validated configuration from the ``spec`` and ``secrets`` inputs."""
    from fluxgitops.spec import parse_configuration  # noqa: PLC0415  (see the module docstring)
    from fluxgitops.spec.redact import merge_secrets  # noqa: PLC0415

    return parse_configuration(merge_secrets(props.get("spec") or {}, props.get("secrets") or {}))


class FluxConfigurationProvider(ObjectSetProvider):
    """Renders a FluxConfiguration with the shared renderer and reports its compliance."""

    extra_inputs = ("multi_tenancy", "reconciler_managed")

    def desire(self, props: dict[str, Any]) -> Desired:
        """Parse once, render once: the configuration's objects (RBAC, Secret, source,
        Kustomizations, FluxConfig), ``namespace/name``, and its namespace to create.

        With the in-cluster reconciler only the FluxConfig and the auth Secret are applied:
        the reconciler applies the rest from the FluxConfig (two appliers of the same fields
        would conflict). The preview still shows every rendered object."""
        from fluxgitops.render import RenderOptions, render_configuration  # noqa: PLC0415

        spec = spec_of(props)
        options = RenderOptions(multi_tenancy=bool(props.get("multi_tenancy", True)))
        manifests = render_configuration(spec, options)
        applied = manifests
        if props.get("reconciler_managed"):
            secret = auth_secret_name(spec.name)
            applied = [
                m
                for m in manifests
                if m.key.kind == FLUXCONFIG_KIND
                or (m.key.kind == "Secret" and m.key.name == secret)
            ]
        return Desired(
            identity=f"{spec.namespace}/{spec.name}",
            manifests=manifests,
            applied=applied,
            namespaces=(spec.namespace,),
            spec=spec,
        )

    def checked(self, news: dict[str, Any], desired: Desired) -> CheckResult:
        """With ``source_check`` also check the Git source (ref, paths, multi-tenancy rules):
        its errors are failures, its commit and warnings go to the ``source_report`` input
        (not diffed, so a moving branch causes no perpetual diff)."""
        from fluxgitops.spec import FluxExtensionSpec  # noqa: PLC0415
        from fluxgitops.spec.extension import MultiTenancy  # noqa: PLC0415
        from fluxgitops.spec.parse import ssh_key_problems  # noqa: PLC0415

        result = super().checked(news, desired)
        spec: FluxConfigurationSpec = desired.spec
        problems = ssh_key_problems(spec, bool(news.get("reconciler_managed")))
        if problems:
            failures = [
                CheckFailure(f"spec.{e.path}", f"{e.message} (got {e.value})") for e in problems
            ]
            return CheckResult(result.inputs, failures)
        mode = news.get("source_check") or "off"
        if mode == "off":
            return result
        if spec.git_repository is None:
            return result
        # imported here: Git and discovery cost the provider process a fifth of its start-up,
        # and only source checks need them
        from fluxgitops.kube.discovery import cluster_scoped_kinds  # noqa: PLC0415
        from fluxgitops.sourcecheck import check_source  # noqa: PLC0415

        # the cluster's own multi-tenancy setting, as `fluxgitops validate --sources` uses it
        extension = FluxExtensionSpec(
            multi_tenancy=MultiTenancy(enforce=bool(news.get("multi_tenancy", True)))
        )
        try:  # the target cluster's own cluster-scoped CRDs, when it can be reached
            scoped = cluster_scoped_kinds(client_for(news))
        except FluxGitOpsError:
            scoped = frozenset()
        try:
            report = check_source(spec, extension, strict=mode == "strict", cluster_scoped=scoped)
        except SourceCheckError as exc:
            failures = [
                CheckFailure(f"spec.{e.path}" if e.path else "spec", e.message) for e in exc.errors
            ]
            return CheckResult(result.inputs, failures)
        except SourceUnavailableError as exc:
            return CheckResult(result.inputs, [CheckFailure("spec.gitRepository.url", str(exc))])
        summary = {
            "commit": report.commit or "",
            "warnings": list(report.warnings),
            "findings": [str(f) for f in report.findings],
        }
        return CheckResult({**result.inputs, "source_report": summary}, [])

    def reusable(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Not with source checks: they look at the repository as it is now."""
        return (news.get("source_check") or "off") == "off" and super().reusable(olds, news)

    def replaces(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """``spec`` when name, namespace or scope changes (create-only in Azure too)."""
        old, new = olds.get("spec") or {}, news.get("spec") or {}
        if old == new:
            return []
        from fluxgitops.spec import FluxConfigurationSpec  # noqa: PLC0415

        immutable = FluxConfigurationSpec.IMMUTABLE_FIELDS
        return [] if all(old.get(f) == new.get(f) for f in immutable) else ["spec"]

    def protected(self, client: Client, key: ObjectKey, props: dict[str, Any]) -> bool:
        """Namespace-shared ``flux-applier`` RBAC stays while another FluxConfig is there."""
        if key.kind not in RBAC_KINDS:
            return False
        spec = props.get("spec") or {}
        namespace, name = spec.get("namespace", "default"), spec.get("name")
        fluxconfig = resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)
        with api_errors(f"FluxConfig list in {namespace}"):
            return any(
                o.metadata.name != name for o in client.list(fluxconfig, namespace=namespace)
            )

    def inventory_holder(self, props: dict[str, Any]) -> ObjectKey | None:
        """The FluxConfig, when this provider applies every object itself (the reconciler is
        off): its ``status.inventory`` records them, as the reconciler's does when it applies
        them. With the reconciler on, the inventory is the reconciler's record and its
        finalizer deletes what it lists, so the provider neither writes nor deletes from it."""
        if props.get("reconciler_managed"):
            return None
        spec = props.get("spec") or {}
        namespace, name = spec.get("namespace") or "default", spec.get("name")
        if not name:
            return None
        return ObjectKey(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND, str(namespace), str(name))

    def status(self, live: list[dict[str, Any]]) -> dict[str, Any]:
        """Compliance, synced commit and public key (from FluxConfig status when reconciled)."""
        state = compliance(live)
        source = next((o for o in live if o.get("kind") in SOURCE_KINDS), None)
        fluxconfig = next((o for o in live if o.get("kind") == FLUXCONFIG_KIND), None)
        reported = (fluxconfig or {}).get("status") or {}
        return {
            "compliance_state": reported.get("complianceState", state.state),
            "compliance_message": reported.get("errorMessage", state.message),
            "source_synced_commit_id": reported.get("sourceSyncedCommitId", synced_commit(source)),
            "repository_public_key": reported.get("repositoryPublicKey", ""),
        }


class FluxConfigurationResource(Resource, module=TYPE_MODULE, name="FluxConfiguration"):
    """One Flux configuration on one cluster, applied by ``FluxConfigurationProvider``.

    ``secrets`` and ``kubeconfig_content`` are stored as Pulumi secrets.
    """

    objects: pulumi.Output[dict[str, Any]]
    object_keys: pulumi.Output[dict[str, str]]
    compliance_state: pulumi.Output[str]
    compliance_message: pulumi.Output[str]
    source_synced_commit_id: pulumi.Output[str]
    repository_public_key: pulumi.Output[str]

    def __init__(
        self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        secret = pulumi.ResourceOptions(additional_secret_outputs=["secrets", "kubeconfig_content"])
        super().__init__(
            FluxConfigurationProvider(),
            name,
            {**props, **dict.fromkeys(OUTPUTS)},
            with_old_type(pulumi.ResourceOptions.merge(secret, opts)),
        )
