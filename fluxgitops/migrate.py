"""Flux v1 → Flux v2: a ``sourceControlConfiguration`` as an equivalent stack configuration.

Azure's Flux v1 resource (``Microsoft.KubernetesConfiguration/
sourceControlConfigurations``: ``repositoryUrl``, ``operatorNamespace``,
``operatorInstanceName``, ``operatorScope``, ``operatorParams`` such as
``--git-branch=main --git-path=a,b --git-readonly --sync-garbage-collection``,
``sshKnownHostsContents``, ``configurationProtectedSettings``,
``enableHelmOperator`` / ``helmOperatorProperties``) must be deleted before the
``microsoft.flux`` extension can go on a cluster. ``migrate_source_control``
turns one (the ARM resource, or the flat object ``az k8s-configuration show``
prints) into the fluxConfiguration body Azure's v2 API takes and hands it to
``fluxgitops.spec.importing.from_arm`` — the one import path, so secrets are
split off the same way (``pulumi config set --secret`` lines, never printed) —
and explains every input that has no v2 equivalent (``Migration.notes``).

``FLUX_V1_CRDS`` / ``is_flux_v1_image`` are the signs of a Flux v1 install on a
cluster (``fluxgitops.fluxv1`` reads them; ``components.program`` refuses to
install over them) and ``migration_plan`` the guidance both print. Called by
the CLI (``fluxgitops migrate``) and the Pulumi program. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fluxgitops.errors import FieldError, SpecError
from fluxgitops.spec.importing import Imported, from_arm
from fluxgitops.spec.parse import parse_configuration

FLUX_V1_CRDS = (
    "helmreleases.helm.fluxcd.io",
    "helmreleases.helm.integrations.flux.weave.works",
    "fluxhelmreleases.helm.integrations.flux.weave.works",
)
"""CustomResourceDefinitions only Flux v1 (and its Helm operator) install."""

FLUX_V1_IMAGES = (
    "docker.io/fluxcd/flux",
    "fluxcd/flux",
    "weaveworks/flux",
    "quay.io/weaveworks/flux",
)
"""Image repositories of the Flux v1 daemon (``fluxcd/flux:1.x``)."""

V1_DEFAULT_BRANCH = "master"
"""Flux v1's ``--git-branch`` default: a v1 configuration without it synced ``master``."""

_SCP_URL = re.compile(r"^(?P<user>[^@/\s]+)@(?P<host>[^:/\s]+):(?P<path>[^/].*)$")

_NO_EQUIVALENT: Mapping[str, str] = {
    "--git-user": "write-back to Git (Flux v2 never commits; image automation does, and is "
    "not available on the Azure extension's defaults)",
    "--git-email": "write-back to Git (see --git-user)",
    "--git-set-author": "write-back to Git (see --git-user)",
    "--git-signing-key": "write-back to Git (see --git-user)",
    "--git-label": "Flux v1's sync tag; Flux v2 records the synced commit in the "
    "Kustomization status (sourceSyncedCommitId) instead",
    "--git-sync-tag": "see --git-label",
    "--git-notes-ref": "Flux v1's notes; no Flux v2 equivalent",
    "--git-ci-skip": "write-back to Git (see --git-user)",
    "--git-ci-skip-message": "write-back to Git (see --git-user)",
    "--manifest-generation": "`.flux.yaml` generators: replace them with a kustomization.yaml "
    "(Flux v2 runs kustomize build) or generate in CI",
    "--registry-disable-scanning": "image scanning belongs to Flux v2's image "
    "automation controllers, which are not part of this migration",
    "--k8s-allow-namespace": "Flux v2 limits a namespace-scoped configuration to its own "
    "namespace (scope: namespace); list further namespaces as separate configurations",
    "--connect": "Weave Cloud / fluxcloud connection; no Flux v2 equivalent",
    "--listen-metrics": "Flux v2's controllers export metrics on their own port",
}
"""Flux v1 daemon flags with no Flux v2 configuration field, and why."""


@dataclass
class Migration:
    """One ``sourceControlConfiguration`` as a stack configuration entry, and what did not map."""

    name: str
    imported: Imported
    notes: list[str] = field(default_factory=list)
    """Each input without a v2 equivalent, or that changes meaning, with what to do."""


def _props(body: Mapping[str, Any]) -> Mapping[str, Any]:
    nested = body.get("properties")
    return nested if isinstance(nested, Mapping) else body


def parse_operator_params(params: str) -> list[tuple[str, str | None]]:
    """``--git-branch=main --git-readonly`` → ``[("--git-branch", "main"), ("--git-readonly",
    None)]`` (shell quoting honoured, ``--flag value`` pairs too)."""
    words = shlex.split(params or "")
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--") and "=" in word:
            flag, _, value = word.partition("=")
            out.append((flag, value))
        elif word.startswith("--") and i + 1 < len(words) and not words[i + 1].startswith("--"):
            out.append((word, words[i + 1]))
            i += 1
        else:
            out.append((word, None))
        i += 1
    return out


def v2_git_url(url: str) -> str:
    """Flux v2 wants ``ssh://`` URLs: ``git@github.com:org/repo`` → ``ssh://git@github.com/org/repo``."""
    match = _SCP_URL.match(url)
    if match and "://" not in url:
        return f"ssh://{match['user']}@{match['host']}/{match['path']}"
    return url


def _truthy(value: str | None) -> bool:
    return value is None or value.lower() in ("true", "1", "yes")


def _kustomization_name(path: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", path.strip("./").lower()).strip("-")[:40] or "root"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def _decode(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def _protected_settings(
    props: Mapping[str, Any], git: dict[str, Any], notes: list[str], errors: list[FieldError]
) -> dict[str, Any]:
    """Flux v1's protected settings as v2's: keys kept, ``httpsUser`` moved to ``git``."""
    protected = props.get("configurationProtectedSettings")
    settings: dict[str, Any] = {}
    if isinstance(protected, Mapping):
        for key, value in protected.items():
            if key in ("sshPrivateKey", "httpsKey"):
                settings[key] = value
            elif key == "httpsUser":
                user = _decode(value)
                if user is None:
                    errors.append(
                        FieldError(
                            "configurationProtectedSettings.httpsUser",
                            "must be base64 (as Flux v1 stored it)",
                        )
                    )
                else:
                    git["httpsUser"] = user
                    notes.append(
                        "configurationProtectedSettings.httpsUser: Flux v2 takes the user as "
                        "gitRepository.httpsUser (not secret); the password stays protected"
                    )
            else:
                notes.append(
                    f"configurationProtectedSettings.{key}: not a Flux v1 setting; left out"
                )
    return settings


def _operator_params(
    params: str, git: dict[str, Any], notes: list[str]
) -> tuple[list[str], bool, str | None, str | None]:
    """The daemon flags: Git paths, prune, sync interval and branch; Git fields set on
    ``git``; every flag without an equivalent explained in ``notes``."""
    paths: list[str] = []
    prune = False
    sync_interval: str | None = None
    branch: str | None = None
    for flag, value in parse_operator_params(params):
        if flag == "--git-branch" and value:
            branch = value
        elif flag == "--git-path" and value:
            paths.extend(p.strip() for p in value.split(",") if p.strip())
        elif flag == "--git-poll-interval" and value:
            git["syncInterval"] = value
        elif flag == "--git-timeout" and value:
            git["timeout"] = value
        elif flag == "--sync-interval" and value:
            sync_interval = value
        elif flag == "--sync-garbage-collection":
            prune = _truthy(value)
        elif flag == "--git-readonly":
            notes.append("--git-readonly: kept as is — Flux v2 never writes to the repository")
        elif flag in _NO_EQUIVALENT:
            shown = f"{flag}={value}" if value else flag
            notes.append(f"{shown}: no equivalent — {_NO_EQUIVALENT[flag]}")
        else:
            notes.append(
                f"{flag}{'=' + value if value else ''}: not a Flux v1 flag this migration knows; "
                "left out — check it by hand"
            )
    return paths, prune, sync_interval, branch


def _dns_name(field_name: str, value: str, notes: list[str]) -> str:
    """``value`` as a Kubernetes name (lower case, ``_`` → ``-``); a change is noted."""
    fixed = re.sub(r"[^a-z0-9.-]+", "-", value.lower()).strip("-.")[:63] or "flux-v1"
    if fixed != value:
        notes.append(f"{field_name} {value!r} is not a valid Flux v2 name; written as {fixed!r}")
    return fixed


def migrate_source_control(body: Mapping[str, Any]) -> Migration:
    """Convert one ``sourceControlConfiguration`` (ARM resource or ``az … show`` output)."""
    props = _props(body)
    notes: list[str] = []
    name = _dns_name(
        "name", str(body.get("name") or props.get("operatorInstanceName") or "flux-v1"), notes
    )
    errors: list[FieldError] = []
    url = str(props.get("repositoryUrl") or "")
    git: dict[str, Any] = {"url": v2_git_url(url)}
    if git["url"] != url:
        notes.append(f"repositoryUrl {url!r} becomes {git['url']!r} (Flux v2 takes ssh:// URLs)")
    operator_type = props.get("operatorType", "Flux")
    if operator_type not in (None, "Flux"):
        errors.append(FieldError("operatorType", "must be 'Flux' to migrate", repr(operator_type)))
    params = _operator_params(str(props.get("operatorParams") or ""), git, notes)
    paths, prune, sync_interval, branch = params
    if branch is None:
        branch = V1_DEFAULT_BRANCH
        notes.append(
            f"no --git-branch: Flux v1 synced {V1_DEFAULT_BRANCH!r}, so the entry says so "
            "(Flux v2 and Azure default to 'master' too, but say it explicitly)"
        )
    git["repositoryRef"] = {"branch": branch}
    hosts = props.get("sshKnownHostsContents")
    if isinstance(hosts, str) and hosts:
        git["sshKnownHosts"] = hosts  # base64 in both APIs
    settings = _protected_settings(props, git, notes, errors)
    if props.get("repositoryPublicKey") and "sshPrivateKey" not in settings:
        notes.append(
            "repositoryPublicKey: Flux v2 generates a new SSH key; add the new public key "
            "(`fluxgitops status` / the repositoryPublicKey output) as a deploy key, or set "
            "gitRepository.sshPrivateKey to the old private key"
        )
    if props.get("enableHelmOperator") in (True, "true", "True"):
        chart = props.get("helmOperatorProperties") or {}
        notes.append(
            "enableHelmOperator: the Flux v2 extension always runs helm-controller; convert "
            "the repository's helm.fluxcd.io/v1 HelmRelease objects to helm.toolkit.fluxcd.io/v2 "
            f"(helmOperatorProperties {dict(chart)!r} have no equivalent)"
        )
    taken: set[str] = set()
    kustomizations = {
        _kustomization_name(p, taken): {
            "path": p,
            "prune": prune,
            **({"syncInterval": sync_interval} if sync_interval else {}),
        }
        for p in (paths or ["./"])
    }
    if len(paths) > 1:
        notes.append(
            f"--git-path lists {len(paths)} paths: one Kustomization each (Flux v1 applied them "
            "as one set; add dependsOn where order matters)"
        )
    arm: dict[str, Any] = {
        "name": name,
        "properties": {
            "namespace": _dns_name(
                "operatorNamespace", str(props.get("operatorNamespace") or "default"), notes
            ),
            "scope": str(props.get("operatorScope") or "cluster"),
            "sourceKind": "GitRepository",
            "gitRepository": git,
            "kustomizations": kustomizations,
            **({"configurationProtectedSettings": settings} if settings else {}),
        },
    }
    imported = from_arm(arm)
    imported.errors.extend(errors)
    if not imported.errors:
        imported.errors.extend(_check(imported))
    return Migration(name, imported, notes)


def _check(imported: Imported) -> list[FieldError]:
    """The entry, its secrets put back, through the one parser every stack entry meets."""
    body = copy.deepcopy(imported.entry)
    for dotted, value in imported.secrets.items():
        node = body
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    try:
        parse_configuration(body)
    except SpecError as exc:
        return list(exc.errors)
    return []


def is_flux_v1_image(image: str) -> bool:
    """True for a Flux v1 daemon image (``fluxcd/flux:1.25.4``, with or without registry)."""
    repository = image.rsplit("@", 1)[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return repository in FLUX_V1_IMAGES


def migration_plan(cluster: str, found: Sequence[str]) -> str:
    """The guidance printed when Flux v1 is on ``cluster``: what was found and the steps."""
    lines = [
        f"cluster {cluster!r}: Flux v1 is installed ({'; '.join(found)}); the Flux v2 "
        "extension cannot be installed next to it. Nothing was changed. Migrate first:",
        "  1. convert each Flux v1 configuration: `fluxgitops migrate FILE` "
        "(`az k8s-configuration show … -o json > FILE` on Azure) and add the entry to the stack",
        "  2. delete the Flux v1 configuration (`az k8s-configuration delete …`) or, outside "
        "Azure, the flux / helm-operator Deployments and the helm.fluxcd.io CRDs",
        "  3. run preview / up again",
    ]
    return "\n".join(lines)
