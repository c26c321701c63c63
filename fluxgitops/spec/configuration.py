"""``FluxConfigurationSpec``: one source and its Kustomizations, as Azure's fluxConfiguration.

The shared typed model that the components, the dynamic provider, the
reconciler and the CLI all use; parse untrusted input with
``fluxgitops.spec.parse.parse_configuration`` to get every error at once.
Defaults follow Azure (scope ``cluster``, namespace ``default``, one
``kustomization-1`` at the repository root, 10-minute intervals). Pure: no I/O.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from fluxgitops.spec.base import SpecModel, duration_field, raise_rule_failures
from fluxgitops.spec.durations import Duration
from fluxgitops.spec.names import (
    MAX_KUSTOMIZATIONS,
    MAX_PATH,
    MAX_SHORT_TEXT,
    MAX_SUBSTITUTE_FROM,
    MAX_SUBSTITUTE_VALUE,
    MAX_SUBSTITUTIONS,
    CrName,
    DnsLabel,
    DnsSubdomain,
    max_length,
)
from fluxgitops.spec.rules import DEFAULT_KUSTOMIZATION, Outline, check_outline, topological_order
from fluxgitops.spec.sources import (
    DEFAULT_INTERVAL,
    AzureBlobSource,
    BucketSource,
    GitRepositorySource,
    OciRepositorySource,
    Source,
    SourceKind,
)

_VAR_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")


def _kustomization_path(value: str) -> str:
    parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
    if value.startswith("/") or ".." in parts:
        raise PydanticCustomError(
            "kustomization_path",
            "must be a path relative to the source root without '..', such as './apps/prod'",
        )
    return "/".join(parts)


def _substitute_keys(value: dict[str, str]) -> dict[str, str]:
    bad = sorted(k for k in value if not _VAR_NAME.fullmatch(k))
    if bad:
        raise PydanticCustomError(
            "substitute_key",
            "variable names must match [_a-zA-Z][_a-zA-Z0-9]*; bad: {bad}",
            {"bad": ", ".join(repr(b) for b in bad)},
        )
    return value


KustomizationPath = Annotated[str, max_length(MAX_PATH), AfterValidator(_kustomization_path)]
VariableName = Annotated[str, max_length(MAX_SHORT_TEXT)]
SubstituteValue = Annotated[str, max_length(MAX_SUBSTITUTE_VALUE)]


class SubstituteFrom(SpecModel):
    """A ConfigMap or Secret in the configuration namespace whose keys become variables."""

    kind: Literal["ConfigMap", "Secret"]
    name: DnsSubdomain
    optional: bool = False


class PostBuild(SpecModel):
    """Variable substitution applied after kustomize build (``${var}`` in the manifests)."""

    substitute: Annotated[dict[VariableName, SubstituteValue], AfterValidator(_substitute_keys)] = (
        Field(default_factory=dict, max_length=MAX_SUBSTITUTIONS)
    )
    substitute_from: list[SubstituteFrom] = Field(
        default_factory=list, max_length=MAX_SUBSTITUTE_FROM
    )


class KustomizationSpec(SpecModel):
    """One Kustomization of the configuration (ARM ``KustomizationDefinition``)."""

    path: KustomizationPath = ""
    depends_on: list[CrName] = Field(default_factory=list, max_length=MAX_KUSTOMIZATIONS)
    timeout: Duration = duration_field(DEFAULT_INTERVAL, azure="timeoutInSeconds", name="timeout")
    sync_interval: Duration = duration_field(
        DEFAULT_INTERVAL, azure="syncIntervalInSeconds", name="sync_interval"
    )
    retry_interval: Duration | None = duration_field(
        None, azure="retryIntervalInSeconds", name="retry_interval"
    )
    prune: bool = False
    force: bool = False
    wait: bool = True
    post_build: PostBuild | None = None

    @property
    def effective_retry_interval(self) -> timedelta:
        """``retryInterval``, defaulting to the sync interval as Azure does."""
        return self.retry_interval or self.sync_interval


def _default_kustomizations() -> dict[str, KustomizationSpec]:
    return {DEFAULT_KUSTOMIZATION: KustomizationSpec()}


class FluxConfigurationSpec(SpecModel):
    """A Flux configuration: one source, its Kustomizations, scope and namespace.

    ``name``, ``namespace`` and ``scope`` are create-only: changing them
    replaces the configuration.
    """

    name: CrName
    namespace: DnsLabel = "default"
    scope: Literal["cluster", "namespace"] = "cluster"
    source_kind: SourceKind = "GitRepository"
    git_repository: GitRepositorySource | None = None
    bucket: BucketSource | None = None
    azure_blob: AzureBlobSource | None = None
    oci_repository: OciRepositorySource | None = None
    kustomizations: dict[CrName, KustomizationSpec] = Field(
        default_factory=_default_kustomizations, max_length=MAX_KUSTOMIZATIONS
    )
    suspend: bool = False
    wait_for_reconciliation: bool = False
    reconciliation_wait_duration: Duration | None = None

    IMMUTABLE_FIELDS: ClassVar[tuple[str, ...]] = ("name", "namespace", "scope")

    @model_validator(mode="after")
    def _configuration_rules(self) -> FluxConfigurationSpec:
        raise_rule_failures(check_outline(self.outline()))
        return self

    def outline(self) -> Outline:
        """The facts the configuration-wide rules check (see ``fluxgitops.spec.rules``)."""
        blocks = {
            "gitRepository": self.git_repository,
            "bucket": self.bucket,
            "azureBlob": self.azure_blob,
            "ociRepository": self.oci_repository,
        }
        return Outline(
            name=self.name,
            source_kind=self.source_kind,
            blocks=frozenset(k for k, v in blocks.items() if v is not None),
            depends_on={k: tuple(v.depends_on) for k, v in self.kustomizations.items()},
        )

    @property
    def source(self) -> Source:
        """The one source block (validation guarantees it matches ``sourceKind``)."""
        for block in (self.git_repository, self.bucket, self.azure_blob, self.oci_repository):
            if block is not None:
                return block
        raise AssertionError("validated FluxConfigurationSpec without a source block")

    def kustomization_order(self) -> list[str]:
        """Kustomization names, dependencies first, then by name."""
        return topological_order({k: tuple(v.depends_on) for k, v in self.kustomizations.items()})
