"""Which Flux objects in a repository multi-tenancy would block, and which API versions are gone.

Input is the manifests read from a source (``load_manifests`` parses YAML text
into ``FileManifest`` documents that remember their file and line numbers); output
is a list of ``Finding``: file, line, object (``kind/namespace/name``), rule id,
severity, what is wrong and how to fix it. The rules follow what the Flux
extension does when ``multiTenancy.enforce`` is on (the default): controllers
run with ``--no-cross-namespace-refs`` and impersonate ``flux-applier``, a
service account that exists only in the configuration's namespace, so every
Flux object belongs in that namespace and deploys elsewhere through
``targetNamespace``. API versions are checked against what Flux serves: exact
for Flux 2.7 (v1beta1/v2beta1 removed) and the announced removals of 2.8
(source, kustomize v1beta2, helm v2beta2) and 2.9 (image, notification v1beta2).

Called by ``fluxgitops.sourcecheck`` (after it fetched the commit) and the
benchmark. Pure: parses text it is given, reads no files.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import yaml

from fluxgitops.errors import ManifestError
from fluxgitops.kinds import split_api_version
from fluxgitops.spec.extension import DEFAULT_FLUX_VERSION
from fluxgitops.spec.semver import Version
from fluxgitops.yamltext import StrictLoader, problem_of

Severity = Literal["error", "warning"]

SOURCE = "source.toolkit.fluxcd.io"
KUSTOMIZE = "kustomize.toolkit.fluxcd.io"
HELM = "helm.toolkit.fluxcd.io"
NOTIFICATION = "notification.toolkit.fluxcd.io"
IMAGE = "image.toolkit.fluxcd.io"
FLUX_GROUP_SUFFIX = ".toolkit.fluxcd.io"

RULES: dict[str, str] = {
    "cross-namespace-source-ref": "a sourceRef points outside the configuration namespace",
    "cross-namespace-chart-ref": "a chartRef points outside the configuration namespace",
    "cross-namespace-depends-on": "a dependsOn entry points outside the configuration namespace",
    "cross-namespace-ref": "another Flux reference points outside the configuration namespace",
    "namespace-mismatch": "a Flux object is not in the configuration namespace",
    "namespace-unset": "a Flux object has no namespace",
    "outside-namespace-scope": "a namespace-scoped configuration cannot apply this object",
    "api-version-not-served": "the Flux version installed does not serve this apiVersion",
    "api-version-deprecated": "this apiVersion is deprecated and will stop being served",
    "invalid-yaml": "the file is not valid YAML",
    "resource-missing": "a kustomization.yaml resource does not exist at the commit",
}
"""Every rule id with a one-line description."""

# (group, kind) → the versions Flux 2.x served, current first.
_VERSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    (SOURCE, "GitRepository"): ("v1", "v1beta2", "v1beta1"),
    (SOURCE, "HelmRepository"): ("v1", "v1beta2", "v1beta1"),
    (SOURCE, "HelmChart"): ("v1", "v1beta2", "v1beta1"),
    (SOURCE, "Bucket"): ("v1", "v1beta2", "v1beta1"),
    (SOURCE, "OCIRepository"): ("v1", "v1beta2"),
    (SOURCE, "ExternalArtifact"): ("v1",),
    (KUSTOMIZE, "Kustomization"): ("v1", "v1beta2", "v1beta1"),
    (HELM, "HelmRelease"): ("v2", "v2beta2", "v2beta1"),
    (NOTIFICATION, "Alert"): ("v1beta3", "v1beta2", "v1beta1"),
    (NOTIFICATION, "Provider"): ("v1beta3", "v1beta2", "v1beta1"),
    (NOTIFICATION, "Receiver"): ("v1", "v1beta2", "v1beta1"),
    (IMAGE, "ImageRepository"): ("v1", "v1beta2", "v1beta1"),
    (IMAGE, "ImagePolicy"): ("v1", "v1beta2", "v1beta1"),
    (IMAGE, "ImageUpdateAutomation"): ("v1", "v1beta2", "v1beta1"),
}

# (group, version) → the Flux minor release that stopped serving it.
_REMOVED_IN: dict[tuple[str, str], tuple[int, int]] = {
    **dict.fromkeys(
        [(SOURCE, "v1beta1"), (KUSTOMIZE, "v1beta1"), (HELM, "v2beta1"), (IMAGE, "v1beta1")], (2, 7)
    ),
    (NOTIFICATION, "v1beta1"): (2, 7),
    **dict.fromkeys([(SOURCE, "v1beta2"), (KUSTOMIZE, "v1beta2"), (HELM, "v2beta2")], (2, 8)),
    **dict.fromkeys([(IMAGE, "v1beta2"), (NOTIFICATION, "v1beta2")], (2, 9)),
}

# Kinds whose controller impersonates flux-applier in the object's own namespace.
_IMPERSONATING = frozenset({(KUSTOMIZE, "Kustomization"), (HELM, "HelmRelease")})

_RBAC = "rbac.authorization.k8s.io"
_ADMISSION = "admissionregistration.k8s.io"
_CLUSTER_SCOPED = frozenset(
    {
        # every cluster-scoped kind Kubernetes 1.36 serves (`kubectl api-resources
        # --namespaced=false`)
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        (_RBAC, "ClusterRole"),
        (_RBAC, "ClusterRoleBinding"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("apiregistration.k8s.io", "APIService"),
        (_ADMISSION, "MutatingWebhookConfiguration"),
        (_ADMISSION, "ValidatingWebhookConfiguration"),
        (_ADMISSION, "ValidatingAdmissionPolicy"),
        (_ADMISSION, "ValidatingAdmissionPolicyBinding"),
        (_ADMISSION, "MutatingAdmissionPolicy"),
        (_ADMISSION, "MutatingAdmissionPolicyBinding"),
        ("authentication.k8s.io", "TokenReview"),
        ("authentication.k8s.io", "SelfSubjectReview"),
        ("authorization.k8s.io", "SubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectAccessReview"),
        ("authorization.k8s.io", "SelfSubjectRulesReview"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("certificates.k8s.io", "ClusterTrustBundle"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
        ("internal.apiserver.k8s.io", "StorageVersion"),
        ("networking.k8s.io", "IngressClass"),
        ("networking.k8s.io", "IPAddress"),
        ("networking.k8s.io", "ServiceCIDR"),
        ("node.k8s.io", "RuntimeClass"),
        ("resource.k8s.io", "DeviceClass"),
        ("resource.k8s.io", "ResourceSlice"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("storage.k8s.io", "VolumeAttributesClass"),
        ("storagemigration.k8s.io", "StorageVersionMigration"),
        # cluster-scoped kinds of widely used add-ons (their CRDs say scope: Cluster)
        ("gateway.networking.k8s.io", "GatewayClass"),
        ("cert-manager.io", "ClusterIssuer"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotClass"),
        ("snapshot.storage.k8s.io", "VolumeSnapshotContent"),
        ("external-secrets.io", "ClusterSecretStore"),
        ("external-secrets.io", "ClusterExternalSecret"),
        ("kyverno.io", "ClusterPolicy"),
        ("templates.gatekeeper.sh", "ConstraintTemplate"),
        ("cilium.io", "CiliumClusterwideNetworkPolicy"),
        ("crd.projectcalico.org", "GlobalNetworkPolicy"),
        ("karpenter.sh", "NodePool"),
        ("monitoring.coreos.com", "ClusterAlertmanagerConfig"),
    }
)
"""Cluster-scoped kinds (group, kind) known without a cluster: a namespace-scoped applier
cannot create them. CRDs in the repository with ``scope: Cluster`` and, when a cluster is
reachable, its discovery add to this (``check_manifests(cluster_scoped=…)``)."""


def cluster_scoped_in(manifests: Iterable[FileManifest]) -> frozenset[tuple[str, str]]:
    """(group, kind) of every ``scope: Cluster`` CustomResourceDefinition among ``manifests``."""
    found: set[tuple[str, str]] = set()
    for manifest in manifests:
        if (manifest.group, manifest.kind) != ("apiextensions.k8s.io", "CustomResourceDefinition"):
            continue
        spec = manifest.data.get("spec")
        if not isinstance(spec, Mapping) or spec.get("scope") != "Cluster":
            continue
        names = spec.get("names")
        if isinstance(names, Mapping) and names.get("kind"):
            found.add((str(spec.get("group", "")), str(names["kind"])))
    return frozenset(found)


@dataclass(frozen=True)
class _Ref:
    """Where a kind keeps a reference: the path to it, list or single, and its rule."""

    path: tuple[str, ...]
    many: bool
    rule: str
    target: str | None  # the referenced kind when the ref itself does not say


_REFS: dict[tuple[str, str], tuple[_Ref, ...]] = {
    (KUSTOMIZE, "Kustomization"): (
        _Ref(("spec", "sourceRef"), False, "cross-namespace-source-ref", None),
        _Ref(("spec", "dependsOn"), True, "cross-namespace-depends-on", "Kustomization"),
    ),
    (HELM, "HelmRelease"): (
        _Ref(("spec", "chart", "spec", "sourceRef"), False, "cross-namespace-source-ref", None),
        _Ref(("spec", "chartRef"), False, "cross-namespace-chart-ref", None),
        _Ref(("spec", "dependsOn"), True, "cross-namespace-depends-on", "HelmRelease"),
    ),
    (IMAGE, "ImagePolicy"): (
        _Ref(("spec", "imageRepositoryRef"), False, "cross-namespace-ref", "ImageRepository"),
    ),
    (IMAGE, "ImageUpdateAutomation"): (
        _Ref(("spec", "sourceRef"), False, "cross-namespace-source-ref", "GitRepository"),
    ),
    (NOTIFICATION, "Alert"): (_Ref(("spec", "eventSources"), True, "cross-namespace-ref", None),),
    (NOTIFICATION, "Receiver"): (_Ref(("spec", "resources"), True, "cross-namespace-ref", None),),
}


@dataclass(frozen=True)
class FileManifest:
    """One Kubernetes object from a file: its data and the line where it starts.

    ``namespace_override`` is the ``namespace:`` of the kustomization.yaml that
    included the file (kustomize sets it on every namespaced object). ``text``
    and ``index`` (the file and the document's position in it) let ``line_of``
    find any key's line; nodes are composed again only when a finding needs
    one, so loading keeps no node tree alive.
    """

    file: str
    line: int
    data: Mapping[str, Any]
    namespace_override: str | None = None
    text: str = field(default="", compare=False, repr=False)
    index: int = field(default=0, compare=False, repr=False)

    @property
    def api_version(self) -> str:
        """``apiVersion`` as written."""
        return str(self.data.get("apiVersion", ""))

    @property
    def group(self) -> str:
        """The API group (empty for the core group)."""
        return split_api_version(self.api_version)[0]

    @property
    def version(self) -> str:
        """The API version without the group."""
        return split_api_version(self.api_version)[1]

    @property
    def kind(self) -> str:
        """``kind`` as written."""
        return str(self.data.get("kind", ""))

    @property
    def metadata(self) -> Mapping[str, Any]:
        """``metadata`` (empty when missing or not a mapping)."""
        meta = self.data.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def name(self) -> str:
        """``metadata.name`` ("" when missing)."""
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str | None:
        """The namespace the object lands in: kustomize's override, else metadata.namespace."""
        own = self.metadata.get("namespace")
        return self.namespace_override or (str(own) if own else None)

    @property
    def is_flux(self) -> bool:
        """True for objects of a ``*.toolkit.fluxcd.io`` group."""
        return self.group.endswith(FLUX_GROUP_SUFFIX)

    @property
    def ref(self) -> str:
        """``kind/namespace/name`` for messages ("-" for no namespace)."""
        return f"{self.kind}/{self.namespace or '-'}/{self.name}"

    def line_of(self, *path: str | int) -> int:
        """The 1-based line of the deepest part of ``path`` present (the document start if none)."""
        nodes = _documents(self.text) if self.text else ()
        node = nodes[self.index] if self.index < len(nodes) else None
        line = self.line
        for step in path:
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == step:
                        node, line = value, key.start_mark.line + 1
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
                if step >= len(node.value):
                    return line
                node = node.value[step]
                line = node.start_mark.line + 1
            else:
                return line
        return line


@dataclass(frozen=True, order=True)
class Finding:
    """One problem in the source: where, which object, which rule, how bad, and the fix."""

    file: str
    line: int
    rule: str
    severity: Severity
    object: str
    message: str
    fix: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.severity}: {self.object}: {self.message} "
            f"[{self.rule}]; fix: {self.fix}"
        )


_Loader = StrictLoader
_yaml_problem = problem_of


@functools.lru_cache(maxsize=16)
def _documents(text: str) -> tuple[yaml.Node, ...]:
    """The node of every document in ``text`` (cached: findings often share a file)."""
    loader = _Loader(text)
    try:
        nodes = (loader.get_node() for _ in iter(loader.check_node, False))
        return tuple(node for node in nodes if node is not None)
    finally:
        loader.dispose()


def load_manifests(text: str, file: str, *, namespace: str | None = None) -> list[FileManifest]:
    """Every Kubernetes object (a mapping with apiVersion and kind) in multi-document ``text``.

    ``file`` is only used to label the results; ``namespace`` is a kustomize
    ``namespace:`` override. Raises ``ManifestError`` on invalid YAML.
    """
    loader = _Loader(text)
    found: list[FileManifest] = []
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                break
            line = node.start_mark.line + 1
            data = loader.construct_document(node)
            if isinstance(data, dict) and data.get("apiVersion") and data.get("kind"):
                found.append(FileManifest(file, line, data, namespace, text, index))
            index += 1
    except yaml.YAMLError as exc:
        raise ManifestError(file, *_yaml_problem(exc)) from None
    finally:
        loader.dispose()
    return found


class SourceTree(Protocol):
    """Read access to one revision of a source; paths are POSIX and relative to its root."""

    def kind(self, path: str) -> Literal["dir", "file"] | None:
        """Whether ``path`` is a "dir" or a "file"; None when nothing is there ("" is the root)."""

    def children(self, path: str) -> list[str]:
        """The names directly inside directory ``path``."""

    def read(self, path: str) -> str:
        """The text of file ``path``."""


@dataclass(frozen=True)
class FileTree:
    """A ``SourceTree`` over ``{path: text}`` in memory (tests, benchmarks)."""

    files: Mapping[str, str]

    def kind(self, path: str) -> Literal["dir", "file"] | None:
        """See ``SourceTree.kind``."""
        if path in self.files:
            return "file"
        prefix = f"{path}/" if path else ""
        return "dir" if any(name.startswith(prefix) for name in self.files) else None

    def children(self, path: str) -> list[str]:
        """See ``SourceTree.children``."""
        prefix = f"{path}/" if path else ""
        return sorted({n[len(prefix) :].split("/")[0] for n in self.files if n.startswith(prefix)})

    def read(self, path: str) -> str:
        """See ``SourceTree.read``."""
        return self.files[path]


_KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_IGNORED = re.compile(
    r"(^|/)\.[^/]+$|(^|/)(appveyor\.yml|cloudbuild\.yaml|codeship-(services|steps)\.yml)$"
)


@dataclass
class ManifestCollector:
    """The manifests under Kustomization paths, found the way kustomize-controller builds them.

    A directory with a ``kustomization.yaml`` contributes its ``resources``
    (``bases``, ``components``; files or directories, its ``namespace:``
    applied); one without contributes every ``.yaml``/``.yml`` file below it,
    as Flux generates one. Files and directories are read once per run; YAML
    errors and missing resources become findings, remote resources warnings.
    """

    tree: SourceTree
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seen: set[tuple[str, str | None]] = field(default_factory=set)

    def directory(self, path: str, namespace: str | None = None) -> Iterator[FileManifest]:
        """Every manifest reachable from directory ``path`` (not yet seen in this run)."""
        if (path, namespace) in self.seen or self.tree.kind(path) != "dir":
            return
        self.seen.add((path, namespace))
        names = self.tree.children(path)
        kfile = next((n for n in _KUSTOMIZATION_FILES if n in names), None)
        if kfile is None:
            for name in names:
                child = posixpath.join(path, name) if path else name
                if _IGNORED.search(child):
                    continue
                if self.tree.kind(child) == "dir":
                    yield from self.directory(child, namespace)
                elif child.endswith((".yaml", ".yml")):
                    yield from self._file(child, namespace)
            return
        kpath = posixpath.join(path, kfile) if path else kfile
        try:
            doc = yaml.load(self.tree.read(kpath), Loader=_Loader) or {}
        except yaml.YAMLError as exc:
            self._invalid(kpath, *_yaml_problem(exc))
            return
        if not isinstance(doc, dict):
            return
        inner = doc.get("namespace")
        namespace = namespace or (str(inner) if inner else None)  # the outer one wins
        for key in ("resources", "bases", "components"):
            for entry in doc.get(key) or []:
                yield from self._resource(path, kpath, str(entry), namespace)

    def _resource(
        self, base: str, kpath: str, entry: str, namespace: str | None
    ) -> Iterator[FileManifest]:
        if "://" in entry or entry.startswith(("github.com/", "git@")):
            self.warnings.append(f"{kpath}: remote resource {entry!r} not checked")
            return
        target = posixpath.normpath(posixpath.join(base, entry))
        target = "" if target == "." else target
        if target == ".." or target.startswith("../"):
            self.warnings.append(f"{kpath}: resource {entry!r} is outside the repository")
            return
        kind = self.tree.kind(target)
        if kind == "dir":
            yield from self.directory(target, namespace)
        elif kind == "file":
            yield from self._file(target, namespace)
        else:
            self.findings.append(
                Finding(
                    kpath,
                    _line_of_text(self.tree.read(kpath), entry),
                    "resource-missing",
                    "error",
                    f"Kustomization/-/{posixpath.basename(base) or '.'}",
                    f"resource {entry!r} does not exist; kustomize build fails",
                    f"add {target!r} to the repository or remove it from {kpath}",
                )
            )

    def _file(self, path: str, namespace: str | None) -> Iterator[FileManifest]:
        if (path, namespace) in self.seen:
            return
        self.seen.add((path, namespace))
        try:
            yield from load_manifests(self.tree.read(path), path, namespace=namespace)
        except ManifestError as exc:
            self._invalid(path, exc.line, exc.problem)

    def _invalid(self, path: str, line: int, problem: str) -> None:
        self.findings.append(
            Finding(path, line, "invalid-yaml", "error", "-", problem, "fix the YAML syntax")
        )


def _line_of_text(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def _minor(flux_version: str) -> tuple[int, int]:
    version = Version.parse(flux_version)
    return version.major, version.minor


def check_api_version(
    manifest: FileManifest, flux_version: str = DEFAULT_FLUX_VERSION
) -> Finding | None:
    """A finding when ``flux_version`` does not serve, or deprecates, the manifest's apiVersion."""
    versions = _VERSIONS.get((manifest.group, manifest.kind))
    if versions is None:
        return None
    current = f"{manifest.group}/{versions[0]}"
    running = _minor(flux_version)
    removed = _REMOVED_IN.get((manifest.group, manifest.version))
    line = manifest.line_of("apiVersion")
    if manifest.version not in versions or (removed is not None and running >= removed):
        when = f" (removed in Flux {removed[0]}.{removed[1]})" if removed else ""
        return Finding(
            manifest.file,
            line,
            "api-version-not-served",
            "error",
            manifest.ref,
            f"{manifest.api_version} {manifest.kind} is not served by Flux {flux_version}{when}",
            f"set apiVersion: {current} and review the field changes "
            f"(`flux migrate -f {manifest.file}` rewrites it)",
        )
    if manifest.version != versions[0]:
        until = f"; Flux {removed[0]}.{removed[1]} removes it" if removed else ""
        return Finding(
            manifest.file,
            line,
            "api-version-deprecated",
            "warning",
            manifest.ref,
            f"{manifest.api_version} {manifest.kind} is deprecated in Flux {flux_version}{until}",
            f"set apiVersion: {current}",
        )
    return None


def _ref_entries(manifest: FileManifest, ref: _Ref) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    value: Any = manifest.data
    for step in ref.path:
        value = value.get(step) if isinstance(value, Mapping) else None
    if ref.many:
        for index, item in enumerate(value if isinstance(value, list) else []):
            yield (*ref.path, index), item
    elif value is not None:
        yield ref.path, value


def _check_refs(manifest: FileManifest, namespace: str) -> Iterator[Finding]:
    for ref in _REFS.get((manifest.group, manifest.kind), ()):
        for path, entry in _ref_entries(manifest, ref):
            if not isinstance(entry, Mapping) or not entry.get("namespace"):
                continue
            target_ns = str(entry["namespace"])
            if target_ns == namespace:
                continue
            target_kind = str(entry.get("kind") or ref.target or "object")
            target = f"{target_kind} '{target_ns}/{entry.get('name', '')}'"
            where = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path)
            where = where.replace(".[", "[")
            yield Finding(
                manifest.file,
                manifest.line_of(*path, "namespace"),
                ref.rule,
                "error",
                manifest.ref,
                f"{where} points at {target} outside the configuration namespace "
                f"'{namespace}'; multi-tenancy blocks cross-namespace references",
                f"move {target_kind} '{entry.get('name', '')}' to namespace '{namespace}' and "
                f"set {where}.namespace: {namespace} (or remove it)",
            )


def _check_namespace(manifest: FileManifest, namespace: str, scope: str) -> Iterator[Finding]:
    actual = manifest.namespace
    spec = manifest.data.get("spec")
    own_account = isinstance(spec, Mapping) and bool(spec.get("serviceAccountName"))
    # with its own spec.serviceAccountName the controller impersonates that account, not
    # flux-applier (the pattern of Flux's multi-tenancy example): no reason to move it
    impersonating = (manifest.group, manifest.kind) in _IMPERSONATING and not own_account
    if actual is None:
        yield Finding(
            manifest.file,
            manifest.line_of("metadata"),
            "namespace-unset",
            "warning",
            manifest.ref,
            f"has no metadata.namespace; Flux objects must live in the configuration "
            f"namespace '{namespace}'",
            f"set metadata.namespace: {namespace}",
        )
        return
    if actual == namespace or (own_account and scope == "cluster"):
        return
    target = spec.get("targetNamespace") if isinstance(spec, Mapping) else None
    if impersonating:
        reason = (
            f"its controller impersonates service account 'flux-applier', which exists only "
            f"in the configuration namespace '{namespace}'"
        )
        fix = f"move the object to namespace '{namespace}' and " + (
            f"keep spec.targetNamespace: {target}"
            if target
            else f"set spec.targetNamespace: {actual}"
        )
    else:
        reason = f"references to it from the configuration namespace '{namespace}' are blocked"
        fix = f"move the object to namespace '{namespace}' and point references at it there"
    yield Finding(
        manifest.file,
        manifest.line_of("metadata", "namespace"),
        "namespace-mismatch",
        "error" if impersonating or scope == "namespace" else "warning",
        manifest.ref,
        f"is in namespace '{actual}'; {reason}",
        fix,
    )


def _check_scope(
    manifest: FileManifest, namespace: str, cluster_scoped: frozenset[tuple[str, str]]
) -> Iterator[Finding]:
    if (manifest.group, manifest.kind) in cluster_scoped:
        yield Finding(
            manifest.file,
            manifest.line_of("kind"),
            "outside-namespace-scope",
            "error",
            manifest.ref,
            f"is cluster-scoped; flux-applier of a namespace-scoped configuration may only "
            f"change namespace '{namespace}'",
            "move the object to a configuration with scope 'cluster'",
        )
    elif manifest.namespace not in (None, namespace):
        yield Finding(
            manifest.file,
            manifest.line_of("metadata", "namespace"),
            "outside-namespace-scope",
            "error",
            manifest.ref,
            f"is in namespace '{manifest.namespace}'; flux-applier of a namespace-scoped "
            f"configuration may only change namespace '{namespace}'",
            f"set metadata.namespace: {namespace}, or use a configuration with scope 'cluster'",
        )


def check_manifests(
    manifests: Iterable[FileManifest],
    *,
    namespace: str,
    multi_tenancy: bool = True,
    scope: Literal["cluster", "namespace"] = "cluster",
    flux_version: str = DEFAULT_FLUX_VERSION,
    cluster_scoped: Iterable[tuple[str, str]] = (),
) -> list[Finding]:
    """Every finding for ``manifests`` applied by a configuration in ``namespace``, sorted.

    API versions are always checked; the multi-tenancy rules (namespaces,
    cross-namespace references, namespace scope) only when ``multi_tenancy``.
    ``cluster_scoped`` adds (group, kind) pairs a cluster's discovery reports.
    """
    manifests = list(manifests)
    scoped = _CLUSTER_SCOPED | cluster_scoped_in(manifests) | frozenset(cluster_scoped)
    findings: list[Finding] = []
    for manifest in manifests:
        if manifest.is_flux:
            api = check_api_version(manifest, flux_version)
            if api is not None:
                findings.append(api)
        if not multi_tenancy:
            continue
        if manifest.is_flux:
            findings.extend(_check_namespace(manifest, namespace, scope))
            findings.extend(_check_refs(manifest, namespace))
        elif scope == "namespace":
            findings.extend(_check_scope(manifest, namespace, scoped))
    return sorted(findings)
