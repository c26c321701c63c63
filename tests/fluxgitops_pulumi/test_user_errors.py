"""Mistakes in a user's program are reported with the user's resource and argument names.

One test per kind of mistake: the ``SpecError`` subject is the Pulumi resource
(``FluxConfiguration 'apps'``), the path is the Python argument
(``git_repository.url``, ``kustomizations['apps'].depends_on[0]``), the bad value
is quoted (secrets masked) and the message says what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from fluxgitops.errors import SECRET_MASK, BackendUnsupportedError, SpecError
from fluxgitops_pulumi import (
    AzureClusterArgs,
    ControllerArgs,
    ControllersArgs,
    FluxConfiguration,
    FluxConfigurationArgs,
    FluxExtension,
    FluxExtensionArgs,
    GitRepositoryArgs,
    KustomizationArgs,
    OciRepositoryArgs,
    OciRepositoryRefArgs,
    ReconcilerArgs,
    TuningArgs,
)
from tests.examples.support import Graph, install


@pytest.fixture
def graph() -> Graph:
    """Pulumi mocks (nothing is deployed; the errors come before any resource)."""
    return install("user-errors", {}, lambda _args: {})


def git(**overrides: Any) -> GitRepositoryArgs:
    """A valid Git source with ``overrides``."""
    return GitRepositoryArgs(**{"url": "https://git.example.com/r.git", **overrides})


def error_of(build: Callable[[], object]) -> SpecError:
    """The ``SpecError`` ``build`` raises."""
    with pytest.raises(SpecError) as caught:
        build()
    return caught.value


def configuration(name: str = "apps", **fields: Any) -> Callable[[], object]:
    """Declaring a FluxConfiguration ``name`` with ``fields`` on a kubernetes extension."""

    def build() -> object:
        flux = FluxExtension(f"{name}-flux", FluxExtensionArgs(kubeconfig="/dev/null"))
        return FluxConfiguration(name, FluxConfigurationArgs(extension=flux, **fields))

    return build


def test_bad_git_url_names_the_resource_and_argument(graph: Graph) -> None:
    error = error_of(configuration(git_repository=git(url="htp://x")))

    assert error.subject == "FluxConfiguration 'apps'"
    assert error.paths == ["git_repository.url"]
    assert error.errors[0].value == "'htp://x'"
    assert error.errors[0].message.startswith("must be an http://, https:// or ssh:// URL")
    assert "git_repository.url: must be" in str(error)


def test_unknown_depends_on_is_a_kustomization_argument(graph: Graph) -> None:
    kustomizations = {"apps": KustomizationArgs(depends_on=["infra"])}

    error = error_of(configuration(git_repository=git(), kustomizations=kustomizations))

    assert error.paths == ["kustomizations['apps'].depends_on[0]"]
    assert error.errors[0].value == "'infra'"


def test_bad_duration_names_the_snake_case_argument(graph: Graph) -> None:
    error = error_of(configuration(git_repository=git(sync_interval="soon")))

    assert error.paths == ["git_repository.sync_interval"]
    assert error.errors[0].message.startswith("must be a Go duration")
    assert error.errors[0].value == "'soon'"


def test_missing_source_block_names_the_argument(graph: Graph) -> None:
    error = error_of(configuration())

    assert "git_repository" in error.paths


def test_resource_name_that_is_not_a_configuration_name_says_name_defaults_to_it(
    graph: Graph,
) -> None:
    error = error_of(configuration(name="Team_A", git_repository=git()))

    assert error.subject == "FluxConfiguration 'Team_A'"
    assert error.paths == ["name"]
    assert error.errors[0].value == "'Team_A'"
    assert "defaults to the resource name" in error.errors[0].message


def test_invalid_secret_is_named_but_never_shown(graph: Graph) -> None:
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-key\n-----END OPENSSH PRIVATE KEY-----\n"

    error = error_of(
        configuration(git_repository=git(url="ssh://git@h/r.git", ssh_private_key=key))
    )

    assert error.paths == ["git_repository.ssh_private_key"]
    assert error.errors[0].value == SECRET_MASK
    assert "not-a-key" not in str(error)


def test_output_for_a_plain_argument_is_refused_with_its_name(graph: Graph) -> None:
    url = pulumi.Output.from_input("https://git.example.com/r.git")

    error = error_of(configuration(git_repository=GitRepositoryArgs(url=url)))  # type: ignore[arg-type]

    assert error.paths == ["git_repository.url"]
    assert error.errors[0].message.startswith("is a pulumi.Output; only secret arguments")


def test_extension_argument_out_of_range_names_the_extension(graph: Graph) -> None:
    error = error_of(
        lambda: FluxExtension("flux", FluxExtensionArgs(reconciler=ReconcilerArgs(replicas=0)))
    )

    assert error.subject == "FluxExtension 'flux'"
    assert error.paths == ["reconciler.replicas"]
    assert error.errors[0].value == "0"


def test_azure_backend_without_cluster_coordinates_names_azure(graph: Graph) -> None:
    error = error_of(lambda: FluxExtension("flux", FluxExtensionArgs(backend="azure")))

    assert error.paths == ["azure"]
    assert error.errors[0].message.startswith("is required on the azure backend")


def test_what_arm_cannot_express_names_the_argument(graph: Graph) -> None:
    tuning = ControllersArgs(kustomize=ControllerArgs(tuning=TuningArgs(concurrent=8)))
    where = AzureClusterArgs(resource_group_name="rg", cluster_name="aks")

    with pytest.raises(BackendUnsupportedError) as caught:
        FluxExtension("flux", FluxExtensionArgs(backend="azure", azure=where, controllers=tuning))

    assert caught.value.subject == "FluxExtension 'flux'"
    assert caught.value.paths[0].startswith("controllers.kustomize.tuning")


def test_oci_semver_filter_on_azure_names_the_argument(graph: Graph) -> None:
    where = AzureClusterArgs(resource_group_name="rg", cluster_name="aks")
    oci = OciRepositoryArgs(
        url="oci://r.example.com/app",
        repository_ref=OciRepositoryRefArgs(semver="1.x", semver_filter=".*"),
    )

    def build() -> object:
        flux = FluxExtension("flux", FluxExtensionArgs(backend="azure", azure=where))
        return FluxConfiguration("apps", FluxConfigurationArgs(extension=flux, oci_repository=oci))

    with pytest.raises(BackendUnsupportedError) as caught:
        build()

    assert caught.value.subject == "FluxConfiguration 'apps'"
    assert caught.value.paths == ["oci_repository.repository_ref.semver_filter"]
