"""``FluxExtension`` and ``FluxConfiguration`` for a user's own Pulumi program.

The same components the fluxgitops program declares (``components.*``, type
tokens ``fluxgitops:index:FluxExtension`` / ``fluxgitops:index:FluxConfiguration``),
built from the typed args of ``fluxgitops_pulumi``: the args are validated at
construction by the spec (every mistake at once, as a ``SpecError`` naming the
resource and the Python argument: ``FluxConfiguration 'apps' is invalid …
git_repository.url: … (got 'htp://x')``), and the cluster connection may be
``Input``s: a kubeconfig ``Output`` (contents or path) or a
``pulumi_kubernetes.Provider`` (``k8s_provider=`` or in ``opts``), whose
kubeconfig reaches the dynamic provider as a Pulumi secret. A FluxConfiguration
takes its extension's backend and connection unless it overrides them.
Imported from ``fluxgitops_pulumi``; no I/O of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import pulumi
import pulumi_kubernetes
from pydantic.alias_generators import to_snake

from components import flux_configuration, flux_extension
from fluxgitops.errors import FieldError, SpecError
from fluxgitops.spec import FluxConfigurationSpec, parse_configuration, parse_extension
from fluxgitops.spec.rules import SOURCE_BLOCKS
from fluxgitops_pulumi.configuration_args import FluxConfigurationArgs
from fluxgitops_pulumi.convert import rename_errors, to_raw
from fluxgitops_pulumi.extension_args import AzureClusterArgs, FluxExtensionArgs

_SOURCE_KINDS = tuple((to_snake(block), kind) for kind, block in SOURCE_BLOCKS.items())
"""(argument name, ``sourceKind``): ``git_repository`` → ``GitRepository`` …"""


def looks_like_kubeconfig(text: str) -> bool:
    """True for kubeconfig contents (YAML or JSON), False for a file path."""
    stripped = text.lstrip()
    return "\n" in stripped or stripped.startswith(("{", "apiVersion"))


@dataclass(frozen=True)
class Connection:
    """How the dynamic providers reach the cluster: a path, or contents (a secret)."""

    kubeconfig: pulumi.Input[str] | None = None
    kubeconfig_content: pulumi.Input[str] | None = None
    context: pulumi.Input[str] | None = None


def find_provider(
    explicit: pulumi_kubernetes.Provider | None, opts: pulumi.ResourceOptions | None
) -> pulumi_kubernetes.Provider | None:
    """``explicit``, else the ``pulumi_kubernetes.Provider`` of ``opts`` (provider, providers)."""
    if explicit is not None or opts is None:
        return explicit
    candidates: list[Any] = [opts.provider]
    providers = opts.providers
    candidates.extend(providers.values() if isinstance(providers, dict) else providers or [])
    return next((p for p in candidates if isinstance(p, pulumi_kubernetes.Provider)), None)


def connection(
    kubeconfig: pulumi.Input[str] | None,
    context: pulumi.Input[str] | None,
    provider: pulumi_kubernetes.Provider | None,
) -> Connection:
    """The connection of ``kubeconfig`` (contents or path), else of ``provider``'s kubeconfig
    (a ``pulumi_kubernetes.Provider`` keeps its inputs as outputs: ``kubeconfig``, ``context``;
    without a kubeconfig it used ``$KUBECONFIG``, which it recorded). Contents are secret."""
    if kubeconfig is None and provider is not None:
        kubeconfig = getattr(provider, "kubeconfig", None)
        context = context if context is not None else getattr(provider, "context", None)
    if kubeconfig is None:
        return Connection(context=context)
    if isinstance(kubeconfig, str):
        if looks_like_kubeconfig(kubeconfig):
            return Connection(kubeconfig_content=pulumi.Output.secret(kubeconfig), context=context)
        return Connection(kubeconfig=kubeconfig, context=context)
    value: pulumi.Output[Any] = pulumi.Output.from_input(cast(pulumi.Output[Any], kubeconfig))
    return Connection(
        kubeconfig=value.apply(_path_or_none),
        kubeconfig_content=pulumi.Output.secret(value.apply(_content_or_none)),
        context=context,
    )


def _path_or_none(text: str | None) -> str:
    """``text`` when it is a kubeconfig path; None (typed as the Input it fills) otherwise."""
    return cast(str, text if text and not looks_like_kubeconfig(text) else None)


def _content_or_none(text: str | None) -> str:
    """``text`` when it is kubeconfig contents; None (typed as the Input it fills) otherwise."""
    return cast(str, text if text and looks_like_kubeconfig(text) else None)


class FluxExtension(flux_extension.FluxExtension):
    """Flux on one cluster: Azure's ``microsoft.flux`` extension (``azure`` backend) or the
    Flux controllers and the FluxConfig CRD applied to any cluster (``kubernetes``).

    Outputs: ``backend``, ``multi_tenancy`` and ``installed`` (the keys of the objects
    applied, or the ARM extension's ID).
    """

    backend: pulumi.Output[str]
    """``kubernetes`` or ``azure``."""
    multi_tenancy: pulumi.Output[bool]
    """Whether ``multiTenancy.enforce`` is on."""
    installed: pulumi.Output[Any]
    """``Kind namespace/name`` → apiVersion of what was applied, or the ARM resource ID."""

    def __init__(
        self,
        name: str,
        args: FluxExtensionArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = args or FluxExtensionArgs()
        subject = f"FluxExtension {name!r}"
        try:
            spec = parse_extension(to_raw(args))
        except SpecError as exc:
            raise rename_errors(exc, subject, args, {}) from None
        if args.backend == "azure" and args.azure is None:
            raise SpecError(
                subject,
                [
                    FieldError(
                        "azure",
                        "is required on the azure backend: give AzureClusterArgs(resource_group_"
                        "name=…, cluster_name=…)",
                        code="missing",
                    )
                ],
            )
        self.connection = connection(
            args.kubeconfig, args.context, find_provider(args.k8s_provider, opts)
        )
        self.azure: AzureClusterArgs | None = args.azure
        internal = flux_extension.FluxExtensionArgs(
            spec=spec,
            backend=args.backend,
            mode=args.mode,
            kubeconfig=self.connection.kubeconfig,
            kubeconfig_content=self.connection.kubeconfig_content,
            context=self.connection.context,
            azure=args.azure,
            bundle=args.bundle,
        )
        try:  # the azure mapping refuses what ARM cannot express
            super().__init__(name, internal, opts)
        except SpecError as exc:
            raise rename_errors(exc, subject, args, {}) from None


class FluxConfiguration(flux_configuration.FluxConfiguration):
    """One Flux configuration (Azure's ``fluxConfigurations``): a source and its
    Kustomizations, on the cluster of its ``extension`` (which it ``depends_on``).

    Put ``depends_on=[config]`` on resources that need what it deploys: with
    ``wait_for_reconciliation=True`` (kubernetes backend) create and update end only when
    the configuration is Compliant, so ``compliance_state`` is ``Compliant`` by then.
    """

    compliance_state: pulumi.Output[str]
    """``complianceState``: ``Compliant``, ``Non-Compliant`` or ``Pending``."""
    source_synced_commit_id: pulumi.Output[str]
    """``sourceSyncedCommitId``: the commit (SHA) of the source last applied."""
    repository_public_key: pulumi.Output[str]
    """``repositoryPublicKey``: the public half of an SSH key generated in the cluster."""
    objects: pulumi.Output[Any]
    """The rendered objects (``Kind namespace/name``, sorted), or the ARM resource ID."""
    spec: FluxConfigurationSpec
    """The validated configuration (secrets masked in its repr)."""

    def __init__(
        self, name: str, args: FluxConfigurationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        extension = args.extension
        subject = f"FluxConfiguration {name!r}"
        deferred: dict[str, pulumi.Output[str]] = {}
        try:
            raw = to_raw(args, deferred)
        except SpecError as exc:
            raise rename_errors(exc, subject, args, {}) from None
        hints: dict[str, str] = {}
        if args.name is None:
            raw["name"] = name
            hints["name"] = " (the name defaults to the resource name; give name= to choose one)"
        if args.source_kind is None:
            given = [kind for field, kind in _SOURCE_KINDS if getattr(args, field) is not None]
            if len(given) == 1:
                raw["sourceKind"] = given[0]
        try:
            self.spec = parse_configuration(raw)
        except SpecError as exc:
            raise rename_errors(exc, subject, args, hints) from None
        own = args.kubeconfig is not None or args.k8s_provider is not None
        provider = find_provider(args.k8s_provider, opts)
        link = (
            connection(args.kubeconfig, args.context, provider)
            if own or provider is not None
            else extension.connection
        )
        backend: Literal["kubernetes", "azure"] = extension.args.backend
        internal = flux_configuration.FluxConfigurationArgs(
            spec=self.spec,
            extension=extension,
            backend=backend,
            kubeconfig=link.kubeconfig,
            kubeconfig_content=link.kubeconfig_content,
            context=link.context if args.context is None else args.context,
            azure=extension.azure,
            force_conflicts=args.force_conflicts,
            remove_finalizers=args.remove_finalizers,
            delete_timeout_seconds=args.delete_timeout_seconds,
            source_check=args.source_check,
            deferred_secrets=deferred,
        )
        try:  # the azure mapping refuses what ARM cannot express
            super().__init__(name, internal, opts)
        except SpecError as exc:
            raise rename_errors(exc, subject, args, hints) from None
