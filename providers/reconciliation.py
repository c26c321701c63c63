"""The reconciliation wait: Azure's ``waitForReconciliation`` as a resource of its own.

A ``ReconciliationResource`` follows its configuration's ``FluxConfigurationResource``
(``depends_on``): its create and update end only when the configuration is Compliant
— read from the FluxConfig status the reconciler writes and the live Flux objects,
including what the Kustomizations applied (``fluxgitops.kube.deployed``) — and fail
with the failing Flux object's own message when it is Non-Compliant or
``reconciliationWaitDuration`` (default 10m) runs out. Progress goes to the Pulumi
log while it waits.

Why a resource apart from the apply: the Python dynamic provider serves at most four
calls at a time (``pulumi.dynamic`` runs its gRPC server on a four-thread pool), so
a wait inside the apply held one of the four while later configurations had not
even been applied: at 20 configurations Flux saw them in waves of four. Applies now
finish first and Flux reconciles every configuration at once while the waits run.

Inputs: ``spec`` (without secret values), ``secrets`` (a Pulumi secret), the
connection inputs, ``multi_tenancy`` and ``reconciler_managed``; a change of the
spec, the secrets or those settings waits again (the connection alone does not).
Outputs: ``compliance_state``, ``compliance_message``, ``source_synced_commit_id``,
``repository_public_key``. Delete does nothing: the objects belong to the
configuration's resource. Created by ``components.flux_configuration``.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from fluxgitops.kube.deployed import (
    DEFAULT_WAIT,
    LiveConfiguration,
    read_configuration,
    wait_for_compliance,
)
from providers.fluxconfig import spec_of
from providers.objectset import CONNECTION_INPUTS, TYPE_MODULE, client_for

WAITED_INPUTS = ("spec", "secrets", "multi_tenancy", "reconciler_managed")
"""Inputs whose change means the configuration changed, so the update waits again."""
OUTPUTS = (
    "compliance_state",
    "compliance_message",
    "source_synced_commit_id",
    "repository_public_key",
)


class ReconciliationProvider(ResourceProvider):
    """Waits until a configuration is Compliant; stores what it saw."""

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Changed when the configuration changed (not when only the connection did)."""
        changed = [k for k in WAITED_INPUTS if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        """Wait until Compliant."""
        spec = spec_of(props)
        return CreateResult(f"{spec.namespace}/{spec.name}", self._wait(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Wait again: the configuration changed."""
        return UpdateResult(self._wait(news))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """What the last wait saw (``fluxgitops status`` reads the cluster live)."""
        return ReadResult(id_, props)

    def _wait(self, props: dict[str, Any]) -> dict[str, Any]:
        spec = spec_of(props)
        client = client_for(props)
        timeout = (spec.reconciliation_wait_duration or DEFAULT_WAIT).total_seconds()

        def read() -> LiveConfiguration:
            return read_configuration(
                client,
                spec,
                multi_tenancy=bool(props.get("multi_tenancy", True)),
                reconciler=bool(props.get("reconciler_managed")),
            )

        live = wait_for_compliance(
            read,
            timeout=timeout,
            subject=f"FluxConfiguration {spec.namespace}/{spec.name}",
            progress=pulumi.log.info,
        )
        state = live.compliance()
        reported = (live.fluxconfig or {}).get("status") or {}
        return {
            **props,
            "compliance_state": state.state,
            "compliance_message": state.message,
            "source_synced_commit_id": live.commit,
            "repository_public_key": reported.get("repositoryPublicKey", ""),
        }


class ReconciliationResource(pulumi.dynamic.Resource, module=TYPE_MODULE, name="Reconciliation"):
    """Ends when its configuration is Compliant (``waitForReconciliation``).

    ``secrets`` and ``kubeconfig_content`` are stored as Pulumi secrets.
    """

    compliance_state: pulumi.Output[str]
    compliance_message: pulumi.Output[str]
    source_synced_commit_id: pulumi.Output[str]
    repository_public_key: pulumi.Output[str]

    def __init__(
        self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        inputs = {k: props.get(k) for k in (*WAITED_INPUTS, *CONNECTION_INPUTS)}
        secret = pulumi.ResourceOptions(additional_secret_outputs=["secrets", "kubeconfig_content"])
        super().__init__(
            ReconciliationProvider(),
            name,
            {**inputs, **dict.fromkeys(OUTPUTS)},
            pulumi.ResourceOptions.merge(secret, opts),  # new in 0.1: no old type to alias
        )
