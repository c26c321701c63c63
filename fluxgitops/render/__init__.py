"""The renderer: validated specs → Kubernetes objects (``Manifest``), pure and deterministic."""

from fluxgitops.render.configuration import RenderOptions, render_configuration
from fluxgitops.render.fluxconfig import render_fluxconfig_crd
from fluxgitops.render.manifest import Manifest, ObjectKey, index, to_yaml

__all__ = [
    "Manifest",
    "ObjectKey",
    "RenderOptions",
    "index",
    "render_configuration",
    "render_fluxconfig_crd",
    "to_yaml",
]
