"""Read ``azure`` clusters' fluxConfigurations from ARM through azure-native's invoke.

``get_flux_configuration_body`` calls
``pulumi_azure_native.kubernetesconfiguration.get_flux_configuration`` (the
SDK's default API version, the one ``components.azure_args`` deploys with;
its status properties are the same in 2025-04-01) for one configuration and
returns ARM's body in wire names (``complianceState``, ``statuses[]`` …) for
``fluxgitops.armstatus``. An invoke needs the Pulumi runtime, so
``read_arm`` runs a ``preview`` of an inline program that only invokes and
declares nothing, on a throwaway stack in a temporary file backend; the
program runs in this process and hands its results back in a list. Missing
Azure credentials, a missing azure-native plugin or a failed invoke become
one line per configuration (``ArmRead.error``), never a traceback.
``fluxgitops_cli.statuscmd`` and ``fluxgitops_cli.fleet`` call ``read_arm``
(tests replace it); tests call ``invoke_all`` under Pulumi's mocks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi_azure_native.kubernetesconfiguration as kc
from pulumi import _types as pulumi_types
from pulumi import automation as auto
from pulumi.automation.errors import CommandError

from components.workspace import LOCAL_PASSPHRASE, pulumi_environment
from fluxgitops.azure import ClusterRef
from fluxgitops.errors import FluxGitOpsError
from fluxgitops.local.toolchain import tool_path
from fluxgitops.stack import StackConfig

CREDENTIAL_VARIABLES = ("ARM_CLIENT_ID", "AZURE_CLIENT_ID", "ARM_USE_MSI", "ARM_USE_OIDC")
"""Environment variables that give azure-native a non-CLI identity (service principal,
managed identity, workload identity); without one it needs ``az login``."""

CREDENTIALS_HELP = (
    "no Azure credentials: run `az login` (and `az account set -s SUBSCRIPTION`) or export "
    "ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID and ARM_SUBSCRIPTION_ID"
)

PROJECT = "fluxgitops-arm-read"
STACK = "arm-read"


@dataclass(frozen=True)
class ArmRequest:
    """One configuration of one ``azure`` cluster to read."""

    cluster: str
    ref: ClusterRef
    namespace: str
    name: str


@dataclass(frozen=True)
class ArmRead:
    """What ARM returned for a request (``body``), or why it could not be read (``error``)."""

    request: ArmRequest
    body: dict[str, Any] | None = None
    error: str = ""


def arm_requests(config: StackConfig) -> list[ArmRequest]:
    """Every configuration of every ``azure`` cluster of ``config``, in stack order."""
    return [
        ArmRequest(cluster.name, cluster.azure, spec.namespace, spec.name)
        for cluster in config.clusters
        if cluster.backend == "azure" and cluster.azure is not None
        for spec in cluster.configurations
    ]


def _wire(value: Any) -> Any:
    """An SDK output object (or a list/dict of them) in ARM's wire names."""
    if pulumi_types.is_output_type(type(value)):
        return {k: _wire(v) for k, v in pulumi_types.output_type_to_dict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


_RESULT_FIELDS = {
    "complianceState": "compliance_state",
    "errorMessage": "error_message",
    "namespace": "namespace",
    "provisioningState": "provisioning_state",
    "sourceKind": "source_kind",
    "sourceSyncedCommitId": "source_synced_commit_id",
    "sourceUpdatedAt": "source_updated_at",
    "statusUpdatedAt": "status_updated_at",
    "suspend": "suspend",
    "statuses": "statuses",
    "gitRepository": "git_repository",
    "bucket": "bucket",
    "azureBlob": "azure_blob",
}
"""ARM property → ``GetFluxConfigurationResult`` attribute: what ``fluxgitops.armstatus`` reads
(``repositoryPublicKey`` and protected settings are left out on purpose)."""


def get_flux_configuration_body(ref: ClusterRef, name: str) -> dict[str, Any]:
    """The configuration ``name`` on ``ref``'s cluster as ARM returns it (flattened properties,
    wire names). Needs the Pulumi runtime; raises what the invoke raises."""
    result = kc.get_flux_configuration(
        cluster_name=ref.cluster_name,
        cluster_resource_name=ref.cluster_resource_name,
        cluster_rp=ref.cluster_rp,
        flux_configuration_name=name,
        resource_group_name=ref.resource_group_name,
    )
    body: dict[str, Any] = {}
    for wire, attribute in _RESULT_FIELDS.items():
        value = getattr(result, attribute, None)
        if value is not None:
            body[wire] = _wire(value)
    return body


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors[-1] if errors else lines[-1] if lines else "no detail").removeprefix("error: ")


def preview_error(text: str) -> str:
    """The first ``error:`` of a failed preview's output, without the prefix (the engine's
    cause, e.g. the missing azure-native plugin), else the last line."""
    for line in text.splitlines():
        _, found, cause = line.partition("error: ")
        if found and cause.strip():
            return cause.strip()
    return _one_line(text)


def invoke_all(requests: Sequence[ArmRequest]) -> list[ArmRead]:
    """Every request read inside a running Pulumi program; a failed invoke is that request's
    ``error`` (one line), the others are still read."""
    found: list[ArmRead] = []
    for request in requests:
        try:
            body = get_flux_configuration_body(request.ref, request.name)
        except Exception as exc:  # the invoke raises plain exceptions carrying ARM's error
            found.append(ArmRead(request, error=f"ARM read failed: {_one_line(str(exc))}"))
        else:
            found.append(ArmRead(request, body=body))
    return found


def missing_credentials(environ: Mapping[str, str], home: Path) -> str:
    """``CREDENTIALS_HELP`` when neither credential variables nor an ``az login`` profile
    exist, else ''."""
    if any(environ.get(name) for name in CREDENTIAL_VARIABLES):
        return ""
    config = Path(environ.get("AZURE_CONFIG_DIR") or home / ".azure")
    if (config / "azureProfile.json").is_file() and shutil.which("az") is not None:
        return ""
    return CREDENTIALS_HELP


def read_arm(requests: Sequence[ArmRequest]) -> list[ArmRead]:
    """Read every request from ARM in one throwaway ``pulumi preview`` (see the module doc)."""
    if not requests:
        return []
    problem = missing_credentials(os.environ, Path.home())
    if problem:
        return [ArmRead(r, error=problem) for r in requests]
    if shutil.which("pulumi", path=str(tool_path("pulumi").parent)) is None:
        missing = "the pulumi CLI is not built; run `python3 tools/build.py pulumi`"
        return [ArmRead(r, error=missing) for r in requests]
    try:
        environment = pulumi_environment("local")
    except FluxGitOpsError as exc:
        return [ArmRead(r, error=str(exc)) for r in requests]
    found: list[ArmRead] = []

    def program() -> None:
        found.extend(invoke_all(requests))

    with tempfile.TemporaryDirectory(prefix="fluxgitops-arm-") as work:
        backend = Path(work, "state")
        backend.mkdir()
        environment |= {
            "PULUMI_BACKEND_URL": backend.as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": LOCAL_PASSPHRASE,
        }
        os.environ["PATH"] = environment["PATH"]  # the Automation API starts `pulumi` from it
        options = auto.LocalWorkspaceOptions(
            work_dir=work,
            env_vars=environment,
            project_settings=auto.ProjectSettings(
                name=PROJECT, runtime="python", backend=auto.ProjectBackend(url=backend.as_uri())
            ),
        )
        try:
            handle = auto.create_or_select_stack(
                STACK, project_name=PROJECT, program=program, opts=options
            )
            handle.preview()
        except CommandError as exc:
            line = f"ARM read failed: {preview_error(str(exc))}"
            done = {id(r.request): r for r in found if r.body is not None}
            return [done.get(id(r)) or ArmRead(r, error=line) for r in requests]
    return found
