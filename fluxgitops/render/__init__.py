"""The renderer: validated specs → Kubernetes objects (``fluxgitops.manifest.Manifest``), pure.

``render_configuration`` renders one configuration (source, Kustomizations,
auth Secret, RBAC and its ``FluxConfig``, which ``fluxgitops.fluxconfig.render``
writes); ``extension`` adapts a Flux install bundle; ``admission`` renders the
ValidatingAdmissionPolicies. The two names load on first use (PEP 562): what
imports the package without rendering (the dynamic provider's no-change check
reuses the last check's objects) does not load the spec models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fluxgitops.render.configuration import RenderOptions, render_configuration

__all__ = ["RenderOptions", "render_configuration"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("fluxgitops.render.configuration"), name)
    globals()[name] = value
    return value
