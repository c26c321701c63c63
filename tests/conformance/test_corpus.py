"""Conformance: public Azure and Flux inputs must get the outcome Azure (or Flux) gives them.

The corpus (``tests/testdata/conformance``, loaded by ``tests.conformance.corpus``)
holds ARM REST API examples, az CLI invocations and validator cases, Terraform
azurerm test configurations and Bicep/ARM samples, each translated into the ARM
``properties`` shape and labelled with where it came from and what Azure does
with it. Every case goes in as a stack entry would (``parse_stack``, one
cluster per backend): a valid case must parse, render the fields its source
implies, and be accepted by the real kube-apiserver with the real Flux CRDs
(server-side dry-run) — what validation accepts, the cluster accepts — and, on
the azure backend, map to ARM properties that carry its base64 fields and
protected settings unchanged; secrets never show in errors or non-Secret
objects; an invalid case must fail with a ``SpecError`` naming the field Azure names.
Cases given as file text (duplicate keys) go through ``fluxgitops validate``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lightkube import ApiError, Client, codecs
from typer.testing import CliRunner

from fluxgitops.azure import flux_configuration_properties
from fluxgitops.errors import SpecError
from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.kube.boundary import translate
from fluxgitops.manifest import Manifest
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.stack import parse_stack
from fluxgitops_cli.app import app
from tests.conformance.corpus import Case, all_cases, pointer

CASES = all_cases()
WHERE = re.compile(r"^clusters\[[^\]]*\]\.configurations\[[^\]]*\]\.")
AZURE_CLUSTER = {
    "resourceGroupName": "rg1",
    "clusterName": "clusterName1",
    "clusterType": "connectedClusters",
}


def _ids(cases: list[Case]) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in cases]


STRUCTURED = [c for c in CASES if c.properties is not None]
TEXT = [c for c in CASES if c.text is not None]
VALID = [c for c in STRUCTURED if c.outcome == "valid"]
INVALID = [c for c in STRUCTURED if c.outcome == "invalid"]
ON_AZURE = [c for c in VALID if "azure" in c.backends]


def parse_entry(case: Case, backend: str = "kubernetes") -> FluxConfigurationSpec:
    """Parse the case as the only configuration of a one-cluster stack on ``backend``."""
    cluster: dict[str, Any] = {"name": "conformance", "backend": backend}
    if backend == "azure":
        cluster["azure"] = AZURE_CLUSTER
    cluster["configurations"] = [case.raw]
    stack = parse_stack({"clusters": [cluster]}, subject=f"corpus case {case.id}")
    (spec,) = stack.clusters[0].configurations
    return spec


def error_paths(exc: SpecError) -> list[str]:
    """The failing field paths, relative to the configuration."""
    return [WHERE.sub("", p) for p in exc.paths]


def explain(case: Case) -> str:
    """Where the case came from and why, for assertion messages."""
    origin = case.source.get("path") or case.source.get("url")
    return f"\n  source: {case.source.get('repo', '')} {origin}\n  expected because: {case.why}"


SECRET_KEYS = frozenset(
    {
        "httpsKey",
        "sshPrivateKey",
        "bucketSecretKey",
        "accountKey",
        "sasToken",
        "clientSecret",
        "clientCertificate",
        "clientCertificatePassword",
        "privateKey",
    }
)
"""ARM's secret fields (x-ms-secret / configurationProtectedSettings keys, swagger 2025-04-01)."""


def secret_values(node: Any, protected: bool = False) -> set[str]:
    """Every secret string in an ARM body (long enough not to match ordinary text by chance)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            inside = protected or key == "configurationProtectedSettings"
            if isinstance(value, str) and (inside or key in SECRET_KEYS) and len(value) >= 12:
                found.add(value)
            found |= secret_values(value, inside)
    elif isinstance(node, list):
        for item in node:
            found |= secret_values(item, protected)
    return found


def rendered(case: Case) -> list[Manifest]:
    """The case's objects as the kubernetes backend renders them (multi-tenancy enforced)."""
    return render_configuration(parse_entry(case), RenderOptions(multi_tenancy=True))


@pytest.fixture
def corpus_cluster(admin: Client) -> Client:
    """The session's admin client on the local kube-apiserver with the Flux and FluxConfig CRDs."""
    return admin


def test_corpus_has_every_family() -> None:
    families = {c.id.split("/")[0] for c in CASES}
    assert len(CASES) >= 40, f"the corpus has only {len(CASES)} cases"
    assert {"arm-examples", "az-cli", "terraform-azurerm"} <= families, families


@pytest.mark.parametrize("case", _ids(VALID))
def test_valid_case_parses(case: Case) -> None:
    try:
        parse_entry(case)
    except SpecError as exc:
        pytest.fail(f"{case.id} is valid for Azure but was refused:\n{exc}{explain(case)}")


ARM_ROUND_TRIP = (
    (("gitRepository", "httpsCACert"), ("git_repository", "https_ca_cert")),
    (("gitRepository", "sshKnownHosts"), ("git_repository", "ssh_known_hosts")),
    (
        ("configurationProtectedSettings", "httpsKey"),
        ("configuration_protected_settings", "httpsKey"),
    ),
    (
        ("configurationProtectedSettings", "sshPrivateKey"),
        ("configuration_protected_settings", "sshPrivateKey"),
    ),
    (
        ("configurationProtectedSettings", "bucketSecretKey"),
        ("configuration_protected_settings", "bucketSecretKey"),
    ),
    (
        ("azureBlob", "servicePrincipal", "clientCertificate"),
        ("azure_blob", "service_principal", "client_certificate"),
    ),
)
"""ARM body path → the same field in ``flux_configuration_properties``; base64 both sides."""


def _dig(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


@pytest.mark.parametrize("case", _ids(ON_AZURE))
def test_valid_case_reaches_azure_unchanged(case: Case) -> None:
    try:
        properties = flux_configuration_properties(parse_entry(case, backend="azure"))
    except SpecError as exc:
        pytest.fail(f"{case.id} is a valid ARM body but the azure backend refused it:\n{exc}")
    changed = [
        ".".join(arm)
        for arm, ours in ARM_ROUND_TRIP
        if _dig(case.properties, arm) and _dig(properties, ours) != _dig(case.properties, arm)
    ]
    assert not changed, (
        f"{case.id}: the azure backend sends different values for {changed} than the ARM body "
        f"it was given (base64 fields must pass through unchanged){explain(case)}"
    )


@pytest.mark.parametrize("case", _ids(INVALID))
def test_invalid_case_names_the_field(case: Case) -> None:
    with pytest.raises(SpecError) as info:
        parse_entry(case)
    got = error_paths(info.value)
    missing = [p for p in case.paths if not set(p.split("|")) & set(got)]
    assert not missing, (
        f"{case.id}: expected errors at {missing}, got:\n{info.value}{explain(case)}"
    )


@pytest.mark.parametrize("case", _ids([c for c in STRUCTURED if secret_values(c.raw)]))
def test_secrets_stay_out_of_errors_and_plain_objects(case: Case) -> None:
    secrets = secret_values(case.raw)
    try:
        objects = rendered(case)
    except SpecError as exc:
        shown = str(exc)
        leaked = sorted(s[:6] + "..." for s in secrets if s in shown)
        assert not leaked, f"{case.id}: the error quotes secret input {leaked}"
        return
    for manifest in objects:
        if manifest.is_secret:
            continue
        text = json.dumps(manifest.to_dict())
        leaked = sorted(s[:6] + "..." for s in secrets if s in text)
        assert not leaked, f"{case.id}: {manifest.key} carries secret input {leaked} in plain text"


@pytest.mark.parametrize("case", _ids([c for c in VALID if c.render]))
def test_valid_case_renders_the_fields_its_source_implies(case: Case) -> None:
    objects = {f"{m.key.kind}/{m.key.name}": m.to_dict() for m in rendered(case)}
    wrong: list[str] = []
    for ref, fields in case.render.items():
        body = objects.get(ref)
        if body is None:
            wrong.append(f"{ref}: not rendered (rendered: {sorted(objects)})")
            continue
        for path, want in fields.items():
            try:
                got = pointer(body, path)
            except (KeyError, IndexError):
                got = "<absent>"
            if got != want:
                wrong.append(f"{ref} {path}: want {want!r}, got {got!r}")
    assert not wrong, f"{case.id}:\n  " + "\n  ".join(wrong) + explain(case)


@pytest.mark.parametrize("case", _ids(VALID))
def test_valid_case_is_accepted_by_the_cluster(case: Case, corpus_cluster: Client) -> None:
    try:
        objects = rendered(case)
    except SpecError as exc:
        pytest.fail(f"{case.id} does not parse, so nothing to apply:\n{exc}")
    for namespace in sorted({m.key.namespace for m in objects if m.key.namespace}):
        ensure_namespace(corpus_cluster, namespace)
    refused: list[str] = []
    for manifest in objects:
        try:
            corpus_cluster.apply(codecs.from_dict(manifest.to_dict()), force=True, dry_run=True)
        except ApiError as exc:
            refused.append(str(translate(exc, str(manifest.key))))
    assert not refused, (
        f"{case.id}: validation accepted it but the API server refused:\n  "
        + "\n  ".join(refused)
        + explain(case)
    )


@pytest.mark.parametrize("case", _ids(TEXT))
def test_configuration_file_case(case: Case, tmp_path: Path) -> None:
    assert case.text is not None
    path = tmp_path / f"{case.file.stem}.yaml"
    path.write_text(case.text)
    result = CliRunner().invoke(app, ["validate", str(path)])
    if case.outcome == "valid":
        assert result.exit_code == 0, f"{case.id}:\n{result.output}{explain(case)}"
        return
    shown = f"got exit {result.exit_code}:\n{result.output}{explain(case)}"
    assert result.exit_code == 1, f"{case.id}: expected exit 1, {shown}"
    missing = [p for p in case.paths if not any(alt in result.output for alt in p.split("|"))]
    assert not missing, f"{case.id}: expected the output to name {missing}, {shown}"
