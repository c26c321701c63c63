"""The typed spec of a Flux extension and a Flux configuration (pydantic v2, pure).

Import the models and the two parse functions from here; see ``parse`` for
how input is validated and errors are reported.
"""

from fluxgitops.spec.configuration import (
    FluxConfigurationSpec,
    KustomizationSpec,
    PostBuild,
    SubstituteFrom,
)
from fluxgitops.spec.extension import FluxExtensionSpec
from fluxgitops.spec.parse import parse_configuration, parse_extension
from fluxgitops.spec.sources import (
    AzureBlobSource,
    BucketSource,
    GitRepositorySource,
    OciRepositorySource,
    RepositoryRef,
)

__all__ = [
    "AzureBlobSource",
    "BucketSource",
    "FluxConfigurationSpec",
    "FluxExtensionSpec",
    "GitRepositorySource",
    "KustomizationSpec",
    "OciRepositorySource",
    "PostBuild",
    "RepositoryRef",
    "SubstituteFrom",
    "parse_configuration",
    "parse_extension",
]
