"""The renderer: validated specs → Kubernetes objects (``Manifest``), pure and deterministic.

``Manifest``, ``ObjectKey``, ``index`` and ``to_yaml`` load with the package; the renderer
functions on first use (PEP 562), so what only handles rendered objects — the diff, the
Kubernetes I/O, the dynamic provider's no-change path — does not load the spec models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from fluxgitops.render.manifest import Manifest, ObjectKey, index, to_yaml

if TYPE_CHECKING:
    from fluxgitops.render.configuration import RenderOptions, render_configuration
    from fluxgitops.render.fluxconfig import render_fluxconfig_crd

_LAZY = {
    "RenderOptions": "fluxgitops.render.configuration",
    "render_configuration": "fluxgitops.render.configuration",
    "render_fluxconfig_crd": "fluxgitops.render.fluxconfig",
}

__all__ = [
    "Manifest",
    "ObjectKey",
    "RenderOptions",
    "index",
    "render_configuration",
    "render_fluxconfig_crd",
    "to_yaml",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
