"""``FluxExtension``: put Flux on one cluster (Azure ``microsoft.flux`` or any Kubernetes).

Backends:
- ``kubernetes``: one ``ManifestsResource`` child applying what
  ``fluxgitops.render.extension`` renders — the adapted Flux bundle
  (``install``; ``args.bundle``, or by default the bundle ``tools/build.py
  flux-bundle`` generates, read here by ``load_bundle``) or only our CRD
  (``external``, for controllers managed elsewhere, as on the local control
  plane).
- ``azure``: an azure-native ``Extension`` of type ``microsoft.flux`` built by
  ``components.azure_args`` (what ARM cannot express is an error, not dropped).

Called by the Pulumi program (``__main__.py``); FluxConfiguration components
``depends_on`` it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pulumi
import pulumi_azure_native as azure_native
import yaml

from components.azure_args import ClusterCoordinates, extension_args
from fluxgitops.errors import FieldError, SpecError
from fluxgitops.local.toolchain import flux_bundle_path
from fluxgitops.render.extension import render_extension
from fluxgitops.spec import FluxExtensionSpec
from providers.manifests import ManifestsResource

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it: the generated bundle is about 270 kB of YAML."""


def load_bundle(path: Path | None = None) -> list[dict[str, Any]]:
    """The objects of a Flux install bundle file; by default the generated one.

    The generated bundle is ``flux_bundle_path()`` (a ``ToolchainError`` saying how to build it
    when it is missing). A file that cannot be read or holds something other than Kubernetes
    objects is a ``SpecError`` on ``fluxBundle``.
    """
    path = flux_bundle_path() if path is None else path.expanduser()
    try:
        docs = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=_LOADER))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SpecError(
            "Flux install bundle",
            [
                FieldError(
                    "fluxBundle",
                    f"cannot be read ({exc}); give `flux install --export` output, or leave "
                    "fluxBundle: out to use the generated bundle",
                    repr(str(path)),
                )
            ],
        ) from exc
    objects = [doc for doc in docs if doc is not None]
    bad = [
        i
        for i, doc in enumerate(objects)
        if not isinstance(doc, dict)
        or not doc.get("kind")
        or not isinstance(doc.get("metadata"), dict)
        or not doc["metadata"].get("name")
    ]
    if bad or not objects:
        what = f"document {bad[0]} has no kind or metadata.name" if bad else "it is empty"
        raise SpecError(
            "Flux install bundle",
            [
                FieldError(
                    "fluxBundle",
                    f"is not a list of Kubernetes objects ({what}); give `flux install "
                    "--export` output",
                    repr(str(path)),
                )
            ],
        )
    return objects


@dataclass
class FluxExtensionArgs:
    """What to install and where."""

    spec: FluxExtensionSpec = field(default_factory=FluxExtensionSpec)
    backend: Literal["kubernetes", "azure"] = "kubernetes"
    mode: Literal["install", "external"] = "external"
    kubeconfig: pulumi.Input[str] | None = None
    """A kubeconfig file path (``kubeconfig: local`` already resolved)."""
    kubeconfig_content: pulumi.Input[str] | None = None
    """Kubeconfig contents; always stored as a Pulumi secret."""
    context: pulumi.Input[str] | None = None
    azure: ClusterCoordinates | None = None
    bundle: Sequence[Mapping[str, Any]] = ()
    """Install mode: the Flux install bundle; empty means the generated one (``load_bundle``)."""


def secret_or_none(value: pulumi.Input[str] | None) -> pulumi.Output[str] | None:
    """``value`` as a Pulumi secret (kubeconfig contents carry credentials)."""
    return None if value is None else pulumi.Output.secret(value)


class FluxExtension(pulumi.ComponentResource):
    """Flux, the FluxConfig CRD and (install mode) the controllers, on one cluster."""

    backend: pulumi.Output[str]
    multi_tenancy: pulumi.Output[bool]
    installed: pulumi.Output[Any]

    def __init__(
        self, name: str, args: FluxExtensionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("fluxgitops:index:FluxExtension", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        if args.backend == "azure":
            if args.azure is None:
                raise ValueError(
                    f"FluxExtension {name!r}: the azure backend needs cluster coordinates"
                )
            self.resource: pulumi.CustomResource = azure_native.kubernetesconfiguration.Extension(
                f"{name}-extension", args=extension_args(args.spec, args.azure), opts=child
            )
            installed: pulumi.Output[Any] = self.resource.id
        else:
            bundle = args.bundle
            if args.mode == "install" and not bundle:
                bundle = load_bundle()
            manifests = render_extension(args.spec, mode=args.mode, bundle=bundle)
            self.resource = ManifestsResource(
                f"{name}-objects",
                {
                    "manifests": [m.to_dict() for m in manifests],
                    "kubeconfig": args.kubeconfig,
                    "kubeconfig_content": secret_or_none(args.kubeconfig_content),
                    "context": args.context,
                },
                child,
            )
            installed = self.resource.object_keys
        self.backend = pulumi.Output.from_input(args.backend)
        self.multi_tenancy = pulumi.Output.from_input(args.spec.multi_tenancy.enforce)
        self.installed = installed
        self.register_outputs(
            {
                "backend": self.backend,
                "multi_tenancy": self.multi_tenancy,
                "installed": self.installed,
            }
        )
