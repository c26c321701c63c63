"""Multi-tenancy and API-version rules on manifests, and the manifest loader and collector."""

from __future__ import annotations

import pytest

from fluxgitops.errors import ManifestError
from fluxgitops.tenancy import (
    RULES,
    FileManifest,
    FileTree,
    Finding,
    ManifestCollector,
    check_manifests,
    load_manifests,
)

NAMESPACE = "cluster-config"

# The two manifests of the seed's multi-tenancy section (Azure's nginx example), verbatim.
SEED_RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata:
  name: nginx
  namespace: nginx
spec:
  releaseName: nginx-ingress-controller
  chart:
    spec:
      chart: nginx-ingress-controller
      sourceRef:
        kind: HelmRepository
        name: bitnami
        namespace: flux-system
      version: "5.6.14"
  interval: 1h0m0s
  install:
    remediation:
      retries: 3
  # Default values
  # https://github.com/bitnami/charts/blob/master/bitnami/nginx-ingress-controller/values.yaml
  values:
    service:
      type: NodePort
"""
SEED_REPOSITORY = """\
apiVersion: source.toolkit.fluxcd.io/v1beta1
kind: HelmRepository
metadata:
  name: bitnami
  namespace: flux-system
spec:
  interval: 30m
  url: https://charts.bitnami.com/bitnami
"""
# The seed's corrected form: everything in the configuration namespace, targetNamespace set.
SEED_CORRECTED = (
    SEED_RELEASE.replace("  namespace: nginx\n", "  namespace: cluster-config \n")
    .replace(
        "  releaseName: nginx-ingress-controller\n",
        "  releaseName: nginx-ingress-controller\n  targetNamespace: nginx\n",
    )
    .replace("namespace: flux-system", "namespace: cluster-config")
)
SEED_CORRECTED_REPOSITORY = SEED_REPOSITORY.replace("flux-system", "cluster-config")


def current(text: str) -> str:
    """``text`` with the seed's API versions replaced by the ones Flux 2.7 serves."""
    return text.replace("helm.toolkit.fluxcd.io/v2beta1", "helm.toolkit.fluxcd.io/v2").replace(
        "source.toolkit.fluxcd.io/v1beta1", "source.toolkit.fluxcd.io/v1"
    )


def findings_for(*files: tuple[str, str], **options: object) -> list[Finding]:
    """Load ``(path, text)`` pairs and run every rule with the configuration namespace."""
    manifests = [m for path, text in files for m in load_manifests(text, path)]
    return check_manifests(manifests, namespace=NAMESPACE, **options)  # type: ignore[arg-type]


def one(kind: str, api_version: str, namespace: str | None = NAMESPACE, **spec: object) -> str:
    """A YAML document for a Flux object with the given spec."""
    meta = f"  name: {kind.lower()}\n" + (f"  namespace: {namespace}\n" if namespace else "")
    body = "".join(f"  {key}: {value}\n" for key, value in spec.items()) or "  {}\n"
    return f"apiVersion: {api_version}\nkind: {kind}\nmetadata:\n{meta}spec:\n{body}"


def rules(findings: list[Finding]) -> list[tuple[str, str, int]]:
    """(rule, severity, line) of each finding, in order."""
    return [(f.rule, f.severity, f.line) for f in findings]


# ------------------------------------------------------------------ the seed example


def test_seed_nginx_example_is_flagged_with_the_fix() -> None:
    found = findings_for(("apps/nginx.yaml", SEED_RELEASE), ("infra/bitnami.yaml", SEED_REPOSITORY))
    assert rules(found) == [
        ("api-version-not-served", "error", 1),
        ("namespace-mismatch", "error", 5),
        ("cross-namespace-source-ref", "error", 14),
        ("api-version-not-served", "error", 1),
        ("namespace-mismatch", "warning", 5),
    ]
    moved = found[1]
    assert moved.file == "apps/nginx.yaml"
    assert moved.object == "HelmRelease/nginx/nginx"
    assert "flux-applier" in moved.message
    assert (
        moved.fix
        == "move the object to namespace 'cluster-config' and set spec.targetNamespace: nginx"
    )
    source_ref = found[2]
    assert "HelmRepository 'flux-system/bitnami'" in source_ref.message
    assert source_ref.fix == (
        "move HelmRepository 'bitnami' to namespace 'cluster-config' and set "
        "spec.chart.spec.sourceRef.namespace: cluster-config (or remove it)"
    )


def test_corrected_nginx_example_passes() -> None:
    found = findings_for(
        ("apps/nginx.yaml", current(SEED_CORRECTED)),
        ("infra/bitnami.yaml", current(SEED_CORRECTED_REPOSITORY)),
    )
    assert found == []


def test_seed_corrected_form_fails_only_on_api_versions_flux_2_7_removed() -> None:
    found = findings_for(
        ("apps/nginx.yaml", SEED_CORRECTED), ("infra/bitnami.yaml", SEED_CORRECTED_REPOSITORY)
    )
    assert {f.rule for f in found} == {"api-version-not-served"}
    assert [f.object for f in found] == [
        "HelmRelease/cluster-config/nginx",
        "HelmRepository/cluster-config/bitnami",
    ]


def test_existing_target_namespace_is_kept_in_the_fix() -> None:
    text = one("HelmRelease", "helm.toolkit.fluxcd.io/v2", "apps", targetNamespace="web")
    (found,) = findings_for(("r.yaml", text))
    assert (
        found.fix
        == "move the object to namespace 'cluster-config' and keep spec.targetNamespace: web"
    )


# ------------------------------------------------------------------ references


def test_kustomization_source_ref_to_another_namespace_is_an_error() -> None:
    text = one(
        "Kustomization",
        "kustomize.toolkit.fluxcd.io/v1",
        sourceRef="{kind: GitRepository, name: shared, namespace: flux-system}",
    )
    (found,) = findings_for(("k.yaml", text))
    assert (found.rule, found.severity, found.line) == ("cross-namespace-source-ref", "error", 7)
    assert "GitRepository 'flux-system/shared'" in found.message


def test_depends_on_another_namespace_is_flagged_per_entry() -> None:
    text = one(
        "Kustomization",
        "kustomize.toolkit.fluxcd.io/v1",
        dependsOn="[{name: a}, {name: b, namespace: infra}, {name: c, namespace: cluster-config}]",
    )
    (found,) = findings_for(("k.yaml", text))
    assert found.rule == "cross-namespace-depends-on"
    assert "spec.dependsOn[1] points at Kustomization 'infra/b'" in found.message


def test_chart_ref_to_another_namespace_is_flagged() -> None:
    text = one(
        "HelmRelease",
        "helm.toolkit.fluxcd.io/v2",
        chartRef="{kind: OCIRepository, name: podinfo, namespace: flux-system}",
    )
    (found,) = findings_for(("r.yaml", text))
    assert found.rule == "cross-namespace-chart-ref"
    assert "OCIRepository 'flux-system/podinfo'" in found.message


def test_image_and_notification_refs_to_other_namespaces_are_flagged() -> None:
    policy = one(
        "ImagePolicy", "image.toolkit.fluxcd.io/v1", imageRepositoryRef="{name: app, namespace: x}"
    )
    alert = one(
        "Alert",
        "notification.toolkit.fluxcd.io/v1beta3",
        eventSources="[{kind: Kustomization, name: '*', namespace: y}]",
    )
    found = findings_for(("p.yaml", policy), ("a.yaml", alert))
    assert [(f.rule, f.object) for f in found] == [
        ("cross-namespace-ref", "Alert/cluster-config/alert"),
        ("cross-namespace-ref", "ImagePolicy/cluster-config/imagepolicy"),
    ]


def test_references_without_namespace_stay_in_the_object_namespace() -> None:
    text = one(
        "Kustomization",
        "kustomize.toolkit.fluxcd.io/v1",
        sourceRef="{kind: GitRepository, name: repo}",
        dependsOn="[{name: infra}]",
    )
    assert findings_for(("k.yaml", text)) == []


# ------------------------------------------------------------------ namespaces


def test_flux_object_without_namespace_is_a_warning() -> None:
    text = one("GitRepository", "source.toolkit.fluxcd.io/v1", namespace=None)
    (found,) = findings_for(("g.yaml", text))
    assert (found.rule, found.severity) == ("namespace-unset", "warning")
    assert found.fix == "set metadata.namespace: cluster-config"


def test_kustomize_namespace_override_decides_the_namespace() -> None:
    (manifest,) = load_manifests(SEED_RELEASE, "r.yaml", namespace=NAMESPACE)
    assert manifest.namespace == NAMESPACE
    found = check_manifests([manifest], namespace=NAMESPACE)
    assert {f.rule for f in found} == {"api-version-not-served", "cross-namespace-source-ref"}


def test_multi_tenancy_off_checks_only_api_versions() -> None:
    found = findings_for(
        ("apps/nginx.yaml", SEED_RELEASE), ("b.yaml", SEED_REPOSITORY), multi_tenancy=False
    )
    assert {f.rule for f in found} == {"api-version-not-served"}


def test_non_flux_objects_are_not_checked_in_cluster_scope() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: elsewhere\n"
    assert findings_for(("c.yaml", text)) == []


def test_namespace_scope_rejects_cluster_scoped_and_foreign_objects() -> None:
    text = (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: elsewhere\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n  namespace: cluster-config\n"
    )
    found = findings_for(("all.yaml", text), scope="namespace")
    assert rules(found) == [
        ("outside-namespace-scope", "error", 2),
        ("outside-namespace-scope", "error", 10),
    ]


def test_namespace_scope_makes_every_misplaced_flux_object_an_error() -> None:
    found = findings_for(("b.yaml", current(SEED_REPOSITORY)), scope="namespace")
    assert rules(found) == [("namespace-mismatch", "error", 5)]


# ------------------------------------------------------------------ API versions


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("source.toolkit.fluxcd.io/v1beta1", "GitRepository"),
        ("source.toolkit.fluxcd.io/v1beta1", "HelmRepository"),
        ("source.toolkit.fluxcd.io/v1beta1", "Bucket"),
        ("source.toolkit.fluxcd.io/v1beta1", "HelmChart"),
        ("kustomize.toolkit.fluxcd.io/v1beta1", "Kustomization"),
        ("helm.toolkit.fluxcd.io/v2beta1", "HelmRelease"),
        ("notification.toolkit.fluxcd.io/v1beta1", "Alert"),
        ("notification.toolkit.fluxcd.io/v1beta1", "Receiver"),
        ("image.toolkit.fluxcd.io/v1beta1", "ImagePolicy"),
        ("kustomize.toolkit.fluxcd.io/v3", "Kustomization"),
        ("source.toolkit.fluxcd.io/v1beta1", "OCIRepository"),
    ],
)
def test_api_versions_flux_2_7_does_not_serve_are_errors(api_version: str, kind: str) -> None:
    (found,) = findings_for(("x.yaml", one(kind, api_version)))
    assert (found.rule, found.severity, found.line) == ("api-version-not-served", "error", 1)
    assert f"{api_version} {kind} is not served by Flux 2.7.3" in found.message
    assert "flux migrate -f x.yaml" in found.fix


@pytest.mark.parametrize(
    ("api_version", "kind", "removal"),
    [
        ("source.toolkit.fluxcd.io/v1beta2", "GitRepository", "2.8"),
        ("source.toolkit.fluxcd.io/v1beta2", "OCIRepository", "2.8"),
        ("kustomize.toolkit.fluxcd.io/v1beta2", "Kustomization", "2.8"),
        ("helm.toolkit.fluxcd.io/v2beta2", "HelmRelease", "2.8"),
        ("image.toolkit.fluxcd.io/v1beta2", "ImageRepository", "2.9"),
        ("notification.toolkit.fluxcd.io/v1beta2", "Provider", "2.9"),
    ],
)
def test_api_versions_flux_2_7_deprecates_are_warnings(
    api_version: str, kind: str, removal: str
) -> None:
    (found,) = findings_for(("x.yaml", one(kind, api_version)))
    assert (found.rule, found.severity) == ("api-version-deprecated", "warning")
    assert f"Flux {removal} removes it" in found.message


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("source.toolkit.fluxcd.io/v1", "GitRepository"),
        ("source.toolkit.fluxcd.io/v1", "OCIRepository"),
        ("source.toolkit.fluxcd.io/v1", "ExternalArtifact"),
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
        ("helm.toolkit.fluxcd.io/v2", "HelmRelease"),
        ("notification.toolkit.fluxcd.io/v1beta3", "Alert"),
        ("notification.toolkit.fluxcd.io/v1", "Receiver"),
        ("image.toolkit.fluxcd.io/v1", "ImageUpdateAutomation"),
    ],
)
def test_current_api_versions_pass(api_version: str, kind: str) -> None:
    assert findings_for(("x.yaml", one(kind, api_version))) == []


def test_flux_2_8_no_longer_serves_source_v1beta2() -> None:
    text = one("GitRepository", "source.toolkit.fluxcd.io/v1beta2")
    (found,) = findings_for(("g.yaml", text), flux_version="2.8.0")
    assert (found.rule, found.severity) == ("api-version-not-served", "error")


def test_flux_2_6_still_serves_v1beta1() -> None:
    text = one("HelmRelease", "helm.toolkit.fluxcd.io/v2beta1")
    (found,) = findings_for(("r.yaml", text), flux_version="2.6.4")
    assert (found.rule, found.severity) == ("api-version-deprecated", "warning")


# ------------------------------------------------------------------ loading


def test_load_manifests_keeps_file_and_start_line_per_document() -> None:
    text = "# header\n" + SEED_RELEASE + "---\n" + SEED_REPOSITORY
    release, repository = load_manifests(text, "apps/both.yaml")
    assert (release.file, release.line, release.ref) == (
        "apps/both.yaml",
        2,
        "HelmRelease/nginx/nginx",
    )
    assert (repository.line, repository.group, repository.version) == (
        27,
        "source.toolkit.fluxcd.io",
        "v1beta1",
    )


def test_load_manifests_skips_documents_that_are_not_objects() -> None:
    text = "---\n# only a comment\n---\n- a list\n---\nkey: value\n---\n" + SEED_REPOSITORY
    assert [m.kind for m in load_manifests(text, "x.yaml")] == ["HelmRepository"]


def test_invalid_yaml_raises_with_file_and_line() -> None:
    with pytest.raises(ManifestError, match=r"^bad\.yaml:2: not valid YAML") as info:
        load_manifests("a: 1\nb: [1,\nc: 2\n", "bad.yaml")
    assert (info.value.file, info.value.line) == ("bad.yaml", 2)


def test_line_of_points_at_the_deepest_key_present() -> None:
    (manifest,) = load_manifests(SEED_RELEASE, "r.yaml")
    assert manifest.line_of("spec", "chart", "spec", "sourceRef", "namespace") == 14
    assert manifest.line_of("spec", "chart", "nothing", "here") == 8
    assert FileManifest("f", 3, {}).line_of("spec") == 3


def test_finding_text_names_file_line_object_rule_and_fix() -> None:
    finding = Finding("a.yaml", 4, "namespace-unset", "warning", "Kind/-/x", "no ns", "set it")
    assert str(finding) == "a.yaml:4: warning: Kind/-/x: no ns [namespace-unset]; fix: set it"


def test_every_rule_is_documented() -> None:
    found = findings_for(("apps/nginx.yaml", SEED_RELEASE), ("b.yaml", SEED_REPOSITORY))
    assert {f.rule for f in found} <= set(RULES)


# ------------------------------------------------------------------ collector


def test_collector_follows_kustomization_resources() -> None:
    tree = FileTree(
        {
            "apps/prod/kustomization.yaml": "resources:\n- ../base\n- extra.yaml\n",
            "apps/prod/extra.yaml": one("GitRepository", "source.toolkit.fluxcd.io/v1"),
            "apps/prod/unlisted.yaml": one("Bucket", "source.toolkit.fluxcd.io/v1"),
            "apps/base/kustomization.yaml": "resources: [release.yaml]\n",
            "apps/base/release.yaml": SEED_RELEASE,
        }
    )
    found = list(ManifestCollector(tree).directory("apps/prod"))
    assert [(m.file, m.kind) for m in found] == [
        ("apps/base/release.yaml", "HelmRelease"),
        ("apps/prod/extra.yaml", "GitRepository"),
    ]


def test_collector_reads_every_yaml_file_when_there_is_no_kustomization_yaml() -> None:
    tree = FileTree(
        {
            "infra/a.yaml": one("GitRepository", "source.toolkit.fluxcd.io/v1"),
            "infra/sub/b.yml": one("Bucket", "source.toolkit.fluxcd.io/v1"),
            "infra/.github/workflows/ci.yaml": "on: push\njobs: {}\n",
            "infra/README.md": "# not yaml: [",
        }
    )
    found = list(ManifestCollector(tree).directory("infra"))
    assert [m.file for m in found] == ["infra/a.yaml", "infra/sub/b.yml"]


def test_collector_applies_the_kustomization_namespace() -> None:
    tree = FileTree(
        {
            "k/kustomization.yaml": "namespace: cluster-config\nresources: [r.yaml]\n",
            "k/r.yaml": SEED_RELEASE,
        }
    )
    (manifest,) = ManifestCollector(tree).directory("k")
    assert manifest.namespace == "cluster-config"


def test_collector_reports_a_missing_resource_at_its_line() -> None:
    tree = FileTree(
        {"k/kustomization.yaml": "resources:\n- here.yaml\n- gone.yaml\n", "k/here.yaml": ""}
    )
    collector = ManifestCollector(tree)
    assert list(collector.directory("k")) == []
    (finding,) = collector.findings
    assert (finding.file, finding.line, finding.rule) == (
        "k/kustomization.yaml",
        3,
        "resource-missing",
    )


REMOTE = "https://github.com/org/repo//deploy?ref=v1"


def test_collector_warns_about_remote_resources() -> None:
    tree = FileTree({"kustomization.yaml": f"resources:\n- {REMOTE}\n"})
    collector = ManifestCollector(tree)
    assert list(collector.directory("")) == []
    assert collector.warnings == [f"kustomization.yaml: remote resource {REMOTE!r} not checked"]


def test_collector_turns_invalid_yaml_into_a_finding() -> None:
    collector = ManifestCollector(FileTree({"d/bad.yaml": "a: [1,\nb: 2\n"}))
    assert list(collector.directory("d")) == []
    assert [(f.file, f.line, f.rule, f.severity) for f in collector.findings] == [
        ("d/bad.yaml", 1, "invalid-yaml", "error")
    ]


def test_collector_reads_each_file_once_per_run() -> None:
    tree = FileTree(
        {
            "a/kustomization.yaml": "resources: [../shared]\n",
            "b/kustomization.yaml": "resources: [../shared]\n",
            "shared/s.yaml": one("GitRepository", "source.toolkit.fluxcd.io/v1"),
        }
    )
    collector = ManifestCollector(tree)
    assert len(list(collector.directory("a"))) == 1
    assert list(collector.directory("b")) == []


# ------------------------------------------------------------------ issue 10: tenancy lint


def test_kustomization_with_its_own_service_account_is_not_moved() -> None:
    """Flux's multi-tenancy example: a tenant Kustomization in the tenant's namespace that
    impersonates the tenant's own account, not flux-applier."""
    text = one(
        "Kustomization",
        "kustomize.toolkit.fluxcd.io/v1",
        namespace="tenant-a",
        serviceAccountName="tenant-a",
    )
    assert findings_for(("tenant.yaml", text)) == []


def test_kustomization_with_its_own_service_account_still_needs_cluster_scope() -> None:
    text = one(
        "Kustomization",
        "kustomize.toolkit.fluxcd.io/v1",
        namespace="tenant-a",
        serviceAccountName="tenant-a",
    )
    assert rules(findings_for(("tenant.yaml", text), scope="namespace")) == [
        ("namespace-mismatch", "error", 5)
    ]


def test_gateway_class_is_cluster_scoped_in_a_namespace_scoped_configuration() -> None:
    text = (
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
        "metadata:\n  name: gw\n  namespace: cluster-config\n"
    )
    assert rules(findings_for(("gw.yaml", text), scope="namespace")) == [
        ("outside-namespace-scope", "error", 2)
    ]


def test_cluster_scoped_crd_defined_in_the_repository_is_known() -> None:
    crd = (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata:\n  name: widgets.example.com\n"
        "spec:\n  group: example.com\n  scope: Cluster\n  names:\n    kind: Widget\n"
    )
    widget = (
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n"
        "  namespace: cluster-config\n"
    )
    found = findings_for(("crd.yaml", crd), ("w.yaml", widget), scope="namespace")
    assert [(f.file, f.rule) for f in found] == [
        ("crd.yaml", "outside-namespace-scope"),
        ("w.yaml", "outside-namespace-scope"),
    ]


def test_cluster_scoped_kinds_from_discovery_are_honoured() -> None:
    text = "apiVersion: acme.io/v1\nkind: Fleet\nmetadata:\n  name: f\n"
    found = check_manifests(
        load_manifests(text, "f.yaml"),
        namespace=NAMESPACE,
        scope="namespace",
        cluster_scoped=[("acme.io", "Fleet")],
    )
    assert rules(found) == [("outside-namespace-scope", "error", 2)]


def test_duplicate_key_in_a_manifest_is_an_invalid_yaml_finding() -> None:
    with pytest.raises(ManifestError) as info:
        load_manifests("apiVersion: v1\nkind: ConfigMap\nkind: Secret\n", "dup.yaml")
    assert info.value.line == 3
    assert "duplicate key 'kind'" in str(info.value)
