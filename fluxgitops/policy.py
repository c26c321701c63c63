"""Azure Policy mode for fleets: a fleet template as built-in DeployIfNotExists assignments.

A fleet with ``policy:`` (``fluxgitops.spec.fleet``) is not expanded onto the
stack's clusters: ``plan_policy`` turns it into ``Assignment``s of Azure's
built-in Flux v2 definitions (``fluxgitops.policy_builtins``) at a
subscription, resource group or management group scope, so every cluster in
that scope — including clusters created later — gets the configuration from
Azure Policy's own engine. Per configuration it picks the definition by the
Git source's authentication (none, SSH key or HTTPS key in Key Vault,
``localAuthRef``), maps the spec onto the definition's parameters, and
reports, with the field path, whatever the definition cannot express (the
built-ins deploy one Kustomization with path, intervals, prune and force);
``install_extension`` adds the extension installer. ``check_parameters``
checks every parameter against the definition's schema — name, ``type``,
``allowedValues``, required without ``defaultValue`` — so a mistake fails
``validate`` and ``pulumi preview``, not the remediation an hour later.
``components.policy`` declares the resources. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field

from fluxgitops.azure import arm_base64
from fluxgitops.errors import FieldError, SpecError
from fluxgitops.policy_builtins import BUILTIN_DEFINITIONS
from fluxgitops.spec.base import SpecModel
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.spec.durations import whole_seconds
from fluxgitops.spec.parse import parse_configuration, show_value, translate_errors

EXTENSION = "extension"
SCOPE_PATTERNS: Mapping[str, re.Pattern[str]] = {
    "subscription": re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}$"),
    "resourceGroup": re.compile(r"^/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+$"),
    "managementGroup": re.compile(r"^/providers/Microsoft\.Management/managementGroups/[^/]+$"),
}
"""The scopes a policy assignment of a fleet may have."""
NAME_LIMITS: Mapping[str, int] = {"subscription": 64, "resourceGroup": 64, "managementGroup": 24}
"""Azure's maximum policy assignment name length per scope kind."""

_TYPES: Mapping[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "float": (int, float),
}


class KeyVaultSecret(SpecModel):
    """Where the SSH / HTTPS key lives for the SSH and HTTPS definitions."""

    id: str = Field(
        pattern=r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[^/]+$"
    )
    secret_name: str = Field(min_length=1)


class PolicySpec(SpecModel):
    """A fleet's ``policy:`` block."""

    scope: str
    location: str = Field(min_length=1)
    """Where the assignment's system-assigned managed identity lives (e.g. ``westeurope``)."""
    effect: str = "DeployIfNotExists"
    install_extension: bool = True
    extension_parameters: dict[str, Any] = Field(default_factory=dict)
    key_vault: KeyVaultSecret | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    """Raw definition parameters over the ones mapped from the configuration."""
    remediate: bool = True
    """Create a remediation task so clusters that already exist get the configuration too."""


@dataclass(frozen=True)
class Assignment:
    """One policy assignment to create, its identity's roles, and whether to remediate."""

    name: str
    definition: str
    definition_id: str
    display_name: str
    scope: str
    scope_kind: Literal["subscription", "resourceGroup", "managementGroup"]
    location: str
    parameters: dict[str, Any]
    role_definition_ids: tuple[str, ...]
    remediate: bool
    secret_parameters: frozenset[str] = field(default_factory=frozenset)


def scope_kind(scope: str) -> str | None:
    """``subscription`` / ``resourceGroup`` / ``managementGroup`` for a scope id, else None."""
    return next((kind for kind, rx in SCOPE_PATTERNS.items() if rx.match(scope)), None)


def _is_type(value: object, schema_type: str) -> bool:
    kinds = _TYPES.get(schema_type.lower(), (object,))
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


def check_parameters(
    definition: str, values: Mapping[str, Any], paths: Mapping[str, str]
) -> list[FieldError]:
    """``values`` against ``definition``'s parameter schema; each error at ``paths[name]``."""
    schema = BUILTIN_DEFINITIONS[definition]
    params: Mapping[str, Any] = schema["parameters"]
    label = f"Azure's built-in policy {schema['displayName']!r}"
    errors: list[FieldError] = []
    for name, value in values.items():
        where = paths.get(name, name)
        spec = params.get(name)
        if spec is None:
            errors.append(
                FieldError(
                    where,
                    f"is not a parameter of {label}; allowed: {', '.join(params)}",
                    repr(name),
                    "policy_parameter",
                )
            )
            continue
        if not _is_type(value, spec["type"]):
            errors.append(
                FieldError(
                    where,
                    f"must be of type {spec['type']} for parameter {name!r} of {label}",
                    show_value(where, value) or repr(value),
                    "policy_parameter",
                )
            )
            continue
        allowed = spec.get("allowedValues")
        if allowed is not None and value not in allowed:
            errors.append(
                FieldError(
                    where,
                    f"must be one of {', '.join(repr(a) for a in allowed)} for parameter "
                    f"{name!r} of {label}",
                    show_value(where, value) or repr(value),
                    "policy_parameter",
                )
            )
    for name, spec in params.items():
        if "defaultValue" not in spec and name not in values:
            errors.append(
                FieldError(
                    paths.get(name, name),
                    f"parameter {name!r} of {label} has no default and is not set",
                    code="policy_parameter",
                )
            )
    return errors


def _definition_for(spec: FluxConfigurationSpec) -> str:
    git = spec.git_repository
    assert git is not None
    if git.local_auth_ref:
        return "git-local-auth"
    if git.ssh_private_key is not None or git.url.startswith("ssh://"):
        return "git-ssh"
    if git.https_key is not None:
        return "git-https"
    return "git-no-auth"


def _mapped(
    spec: FluxConfigurationSpec, definition: str, policy: PolicySpec, at: str, ppath: str
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """Parameters from the spec, their source paths, and the spec input they stand for."""
    git = spec.git_repository
    assert git is not None
    ((kname, kust),) = spec.kustomizations.items()
    values: dict[str, Any] = {
        "configurationName": spec.name,
        "configurationNamespace": spec.namespace,
        "configurationScope": spec.scope,
        "repositoryUrl": git.url,
        "repositoryTimeout": whole_seconds(git.timeout),
        "repositorySyncInterval": whole_seconds(git.sync_interval),
        "kustomizationName": kname,
        "kustomizationPath": kust.path,
        "kustomizationTimeout": whole_seconds(kust.timeout),
        "kustomizationSyncInterval": whole_seconds(kust.sync_interval),
        "kustomizationPrune": kust.prune,
        "kustomizationForce": kust.force,
        "effect": policy.effect,
    }
    ref = git.repository_ref
    for part in ("branch", "tag", "semver", "commit"):
        found = getattr(ref, part)
        if found:
            values[f"repositoryRef{part.title()}"] = found
    if (
        kust.retry_interval is not None
        and "kustomizationRetryInterval" in (BUILTIN_DEFINITIONS[definition]["parameters"])
    ):
        values["kustomizationRetryInterval"] = whole_seconds(kust.retry_interval)
    known = BUILTIN_DEFINITIONS[definition]["parameters"]
    rebuilt_git: dict[str, Any] = {
        "url": git.url,
        "syncInterval": git.sync_interval,
        "repositoryRef": ref.model_dump(exclude_none=True),
    }
    if "repositoryTimeout" in known:
        rebuilt_git["timeout"] = git.timeout
    else:  # the HTTPS definition has no timeout parameter: only the default is expressible
        del values["repositoryTimeout"]
    if definition == "git-local-auth":
        values["repositoryLocalAuthRef"] = git.local_auth_ref
        rebuilt_git["localAuthRef"] = git.local_auth_ref
    elif definition == "git-ssh":
        if git.ssh_known_hosts:
            values["repositorySshKnownHosts"] = arm_base64(git.ssh_known_hosts)
            rebuilt_git["sshKnownHosts"] = git.ssh_known_hosts
        rebuilt_git["sshPrivateKey"] = git.ssh_private_key
    elif definition == "git-https":
        values["repositoryHttpsUser"] = git.https_user
        rebuilt_git["httpsUser"] = git.https_user
        rebuilt_git["httpsKey"] = git.https_key
        if git.https_ca_cert:
            values["repositoryHttpsCACert"] = arm_base64(git.https_ca_cert)
            rebuilt_git["httpsCACert"] = git.https_ca_cert
    if definition in ("git-ssh", "git-https") and policy.key_vault is not None:
        values["keyVaultName"] = policy.key_vault.id
        secret_param = (
            "keyVaultSecretName" if definition == "git-ssh" else "httpsKeyKeyVaultSecretName"
        )
        values[secret_param] = policy.key_vault.secret_name
    paths = {
        "configurationName": f"{at}.name",
        "configurationNamespace": f"{at}.namespace",
        "configurationScope": f"{at}.scope",
        "repositoryUrl": f"{at}.gitRepository.url",
        "repositoryTimeout": f"{at}.gitRepository.timeout",
        "repositorySyncInterval": f"{at}.gitRepository.syncInterval",
        "kustomizationRetryInterval": f"{at}.kustomizations.{kname}.retryInterval",
        "repositoryHttpsUser": f"{at}.gitRepository.httpsUser",
        "repositoryLocalAuthRef": f"{at}.gitRepository.localAuthRef",
        "repositorySshKnownHosts": f"{at}.gitRepository.sshKnownHosts",
        "repositoryHttpsCACert": f"{at}.gitRepository.httpsCACert",
        "effect": f"{ppath}.effect",
        "keyVaultName": f"{ppath}.keyVault",
        "keyVaultSecretName": f"{ppath}.keyVault",
        "httpsKeyKeyVaultSecretName": f"{ppath}.keyVault",
    }
    for name in values:
        if name.startswith("kustomization") and name not in paths:
            paths[name] = f"{at}.kustomizations.{kname}"
        if name.startswith("repositoryRef"):
            paths[name] = f"{at}.gitRepository.repositoryRef"
    kust_in: dict[str, Any] = {
        "path": kust.path,
        "timeout": kust.timeout,
        "syncInterval": kust.sync_interval,
        "prune": kust.prune,
        "force": kust.force,
    }
    if (
        kust.retry_interval is not None
        and "kustomizationRetryInterval" in (BUILTIN_DEFINITIONS[definition]["parameters"])
    ):
        kust_in["retryInterval"] = kust.retry_interval
    rebuilt = {
        "name": spec.name,
        "namespace": spec.namespace,
        "scope": spec.scope,
        "gitRepository": rebuilt_git,
        "kustomizations": {kname: kust_in},
    }
    return values, paths, rebuilt


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, Mapping):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def _unexpressed(spec: FluxConfigurationSpec, rebuilt: Mapping[str, Any]) -> list[str]:
    """Spec fields (camelCase paths) whose value the mapped parameters do not reproduce."""
    again = FluxConfigurationSpec.model_validate(rebuilt)
    have = _leaves(spec.model_dump(mode="json", exclude_none=True, by_alias=True))
    want = _leaves(again.model_dump(mode="json", exclude_none=True, by_alias=True))
    return sorted(k for k in have.keys() | want.keys() if have.get(k) != want.get(k))


def _assignment_name(fleet: str, suffix: str, kind: str) -> str:
    name = f"{fleet}-{suffix}"
    limit = NAME_LIMITS[kind]
    return name if len(name) <= limit else name[:limit].rstrip("-")


DISPLAY_NAME_LIMIT = 128
"""Azure's maximum length of a policy assignment's display name."""


def _display_name(definition: str, suffix: str) -> str:
    """``<definition display name> (<suffix>)``, the definition's name cut to fit the limit."""
    room = DISPLAY_NAME_LIMIT - len(suffix) - 3
    head = definition if len(definition) <= room else definition[: max(room - 1, 0)] + "…"
    return f"{head} ({suffix})"[:DISPLAY_NAME_LIMIT]


def _role_ids(definition: str, scope: str, kind: str) -> tuple[str, ...]:
    ids: list[str] = BUILTIN_DEFINITIONS[definition]["roleDefinitionIds"]
    if kind == "managementGroup":
        return tuple(ids)
    subscription = scope.split("/")[2]
    return tuple(f"/subscriptions/{subscription}{i}" for i in ids)


def _configuration_assignment(
    fleet: str, policy: PolicySpec, kind: str, body: Any, *, at: str, ppath: str
) -> tuple[Assignment | None, list[FieldError]]:
    try:
        spec = parse_configuration(body)
    except SpecError as exc:
        return None, [
            FieldError(f"{at}.{e.path}" if e.path else at, e.message, e.value, e.code)
            for e in exc.errors
        ]
    if spec.git_repository is None:
        return None, [
            FieldError(
                f"{at}.sourceKind",
                "must be 'GitRepository' in policy mode: Azure's built-in Flux policy "
                "definitions deploy Git sources only",
                repr(spec.source_kind),
            )
        ]
    if len(spec.kustomizations) != 1:
        return None, [
            FieldError(
                f"{at}.kustomizations",
                f"has {len(spec.kustomizations)} Kustomizations; Azure's built-in Flux policy "
                "definitions deploy exactly one (split the template into one configuration "
                "per Kustomization, each becomes its own assignment)",
                repr(sorted(spec.kustomizations)),
            )
        ]
    definition = _definition_for(spec)
    label = BUILTIN_DEFINITIONS[definition]["displayName"]
    values, paths, rebuilt = _mapped(spec, definition, policy, at, ppath)
    errors = [
        FieldError(
            f"{at}.{leaf}",
            f"cannot be expressed by Azure's built-in policy {label!r} (its parameters: "
            f"{', '.join(BUILTIN_DEFINITIONS[definition]['parameters'])}); remove it or use "
            "a fleet without policy:",
            code="policy_unsupported",
        )
        for leaf in _unexpressed(spec, rebuilt)
    ]
    missing_vault = definition in ("git-ssh", "git-https") and policy.key_vault is None
    if missing_vault:
        errors.append(
            FieldError(
                f"{ppath}.keyVault",
                f"is required: {label!r} reads the key from Key Vault (give id and "
                "secretName; the key itself never goes into the assignment)",
            )
        )
    for name, value in policy.parameters.items():
        values[name] = value
        paths[name] = f"{ppath}.parameters.{name}"
    errors += [
        e
        for e in check_parameters(definition, values, paths)
        if not (missing_vault and e.path == f"{ppath}.keyVault")
    ]
    schema = BUILTIN_DEFINITIONS[definition]
    return (
        Assignment(
            name=_assignment_name(fleet, spec.name, kind),
            definition=definition,
            definition_id=schema["id"],
            display_name=_display_name(
                schema["displayName"], f"{fleet}: {spec.namespace}/{spec.name}"
            ),
            scope=policy.scope,
            scope_kind=kind,  # type: ignore[arg-type]
            location=policy.location,
            parameters=values,
            role_definition_ids=_role_ids(definition, policy.scope, kind),
            remediate=policy.remediate,
        ),
        errors,
    )


def plan_policy(
    fleet: str, raw_policy: object, configurations: list[Any], where: str
) -> tuple[list[Assignment], list[FieldError]]:
    """The assignments of a policy-mode fleet, or every error (paths under ``where``)."""
    ppath = f"{where}.policy"
    problems = translate_errors(PolicySpec, raw_policy)
    if problems:
        return [], [
            FieldError(f"{ppath}.{e.path}" if e.path else ppath, e.message, e.value, e.code)
            for e in problems
        ]
    policy = PolicySpec.model_validate(raw_policy)
    kind = scope_kind(policy.scope)
    if kind is None:
        return [], [
            FieldError(
                f"{ppath}.scope",
                "must be a subscription (/subscriptions/<id>), resource group "
                "(/subscriptions/<id>/resourceGroups/<name>) or management group "
                "(/providers/Microsoft.Management/managementGroups/<id>) id",
                repr(policy.scope),
            )
        ]
    assignments: list[Assignment] = []
    errors: list[FieldError] = []
    if not configurations:
        errors.append(FieldError(f"{where}.configurations", "must list at least one configuration"))
    for k, body in enumerate(configurations):
        found, problems = _configuration_assignment(
            fleet, policy, kind, body, at=f"{where}.configurations[{k}]", ppath=ppath
        )
        errors += problems
        if found is not None:
            assignments.append(found)
    if policy.install_extension:
        values = {"effect": policy.effect, **policy.extension_parameters}
        paths = {name: f"{ppath}.extensionParameters.{name}" for name in values}
        paths["effect"] = f"{ppath}.effect"
        errors += check_parameters(EXTENSION, values, paths)
        schema = BUILTIN_DEFINITIONS[EXTENSION]
        assignments.insert(
            0,
            Assignment(
                name=_assignment_name(fleet, "flux-extension", kind),
                definition=EXTENSION,
                definition_id=schema["id"],
                display_name=_display_name(schema["displayName"], fleet),
                scope=policy.scope,
                scope_kind=kind,  # type: ignore[arg-type]
                location=policy.location,
                parameters=values,
                role_definition_ids=_role_ids(EXTENSION, policy.scope, kind),
                remediate=policy.remediate,
            ),
        )
    names = [a.name for a in assignments]
    for name in {n for n in names if names.count(n) > 1}:
        errors.append(
            FieldError(
                f"{where}.configurations",
                f"two assignments would be named {name!r} (the name is cut to "
                f"{NAME_LIMITS[kind]} characters at a {kind} scope); shorten the fleet or "
                "configuration names",
            )
        )
    return assignments, errors
