"""The FluxConfig custom resource, write side: the CR and its CRD (group ``fluxgitops.io``).

The CR carries a configuration's desired state for the in-cluster reconciler:
the spec without any secret value (secrets live only in the ``<config>-auth``
Secret), the multi-tenancy mode, and whether the reconciler must generate an
SSH key. The CRD's OpenAPI schema is derived from the same pydantic model, so
the API server and the reconciler agree on the shape — and on the bounds:
maximum lengths and counts (``fluxgitops.spec.names``) become ``maxLength``,
``maxItems``, ``maxProperties`` and CEL rules, so an oversized FluxConfig is
refused at admission with the field and the limit. Called by
``fluxgitops.render.configuration`` (the CR, last of a configuration's objects),
``fluxgitops.render.extension`` and ``fluxgitops crd`` (the CRD), and the local
control plane (installs the CRD). Its inverse is ``fluxgitops.fluxconfig.readback``.
Pure.
"""

from __future__ import annotations

import copy
from typing import Any

from fluxgitops.fluxconfig.vocabulary import READY
from fluxgitops.manifest import Manifest
from fluxgitops.meta import (
    FLUXCONFIG_API_VERSION,
    FLUXCONFIG_KIND,
    FLUXCONFIG_PLURAL,
    FLUXCONFIG_VERSION,
    GROUP,
    LABEL_MANAGED_BY,
    auth_secret_name,
    metadata,
)
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.spec.names import CONFIG_PLUS_KUSTOMIZATION_MAX, DNS1123_LABEL_MAX
from fluxgitops.spec.secrets import SECRETS
from fluxgitops.spec.sources import GitRepositorySource
from fluxgitops.status import COMPLIANCE_STATES

_COMPLIANCE_ENUM = list(COMPLIANCE_STATES)
"""One list for both ``complianceState`` enums (the CRD's YAML shares it as an anchor)."""


def fluxconfig_spec(
    spec: FluxConfigurationSpec, *, multi_tenancy: bool, has_auth_secret: bool
) -> dict[str, Any]:
    """The CR's ``spec``: the configuration without secrets, plus what the reconciler needs."""
    body = spec.model_dump(mode="json", exclude_none=True, exclude=_secret_paths(spec))
    body.pop("name", None)
    body.pop("namespace", None)
    source = spec.source
    body["multiTenancy"] = {"enforce": multi_tenancy}
    body["generateSshKey"] = isinstance(source, GitRepositorySource) and source.generates_ssh_key
    if has_auth_secret:
        body["protectedSettingsRef"] = {"name": auth_secret_name(spec.name)}
    return body


def _secret_paths(spec: FluxConfigurationSpec) -> dict[str, Any]:
    """A pydantic ``exclude`` tree of every secret field (``spec.secrets``) set in ``spec``."""
    tree: dict[str, Any] = {}
    for field in SECRETS:
        node: Any = spec
        for attr in field.attrs:
            node = getattr(node, attr, None)
        if node is None:
            continue
        branch = tree
        for attr in field.attrs[:-1]:
            branch = branch.setdefault(attr, {})
        branch[field.attrs[-1]] = True
    return tree


def render_fluxconfig(
    spec: FluxConfigurationSpec,
    labels: dict[str, str],
    *,
    multi_tenancy: bool,
    has_auth_secret: bool,
) -> Manifest:
    """The ``FluxConfig`` named after the configuration, in its namespace."""
    return Manifest(
        {
            "apiVersion": FLUXCONFIG_API_VERSION,
            "kind": FLUXCONFIG_KIND,
            "metadata": metadata(spec.name, spec.namespace, labels),
            "spec": fluxconfig_spec(
                spec, multi_tenancy=multi_tenancy, has_auth_secret=has_auth_secret
            ),
        }
    )


# ---------------------------------------------------------------- CRD


def structural_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Turn a pydantic JSON schema into a Kubernetes structural schema.

    Inlines ``$ref``s, turns ``anyOf [X, null]`` into ``X`` + ``nullable``,
    drops keys the API server rejects or ignores (``title``, ``default``,
    ``$defs``), and removes write-only (secret) properties.
    """
    defs = schema.get("$defs", {})

    def convert(node: dict[str, Any]) -> dict[str, Any]:
        if "$ref" in node:
            return convert(copy.deepcopy(defs[node["$ref"].split("/")[-1]]))
        if "anyOf" in node:
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            nullable = len(options) < len(node["anyOf"])
            # more than one option (e.g. int-or-string): the reconciler validates the details
            merged = (
                convert(options[0]) if len(options) == 1 else {"x-kubernetes-int-or-string": True}
            )
            if nullable:
                merged["nullable"] = True
            if "description" in node:
                merged["description"] = node["description"]
            return merged
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("title", "default", "$defs", "writeOnly", "format"):
                continue
            if key == "properties":
                out[key] = {
                    name: convert(prop)
                    for name, prop in value.items()
                    if not _is_write_only(prop, defs)
                }
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                out[key] = convert(value)
            elif key == "additionalProperties":
                continue  # a boolean here is not allowed in a structural schema
            elif key == "required":
                continue  # required-ness is enforced by the reconciler's full validation
            elif key == "const":
                out["enum"] = [value]
            elif key == "propertyNames":
                # not allowed in a structural schema: the key bound becomes a CEL rule
                limit = value.get("maxLength")
                if limit is not None:
                    out.setdefault("x-kubernetes-validations", []).append(
                        {
                            "rule": f"self.all(k, size(k) <= {limit})",
                            "message": f"keys must be at most {limit} characters",
                        }
                    )
            else:
                out[key] = value
        if "type" not in out and "enum" in out:
            out["type"] = "string"
        return out

    return convert(schema)


def _is_write_only(prop: dict[str, Any], defs: dict[str, Any]) -> bool:
    if prop.get("writeOnly"):
        return True
    return any(o.get("writeOnly") for o in prop.get("anyOf", []))


def _spec_schema() -> dict[str, Any]:
    schema = FluxConfigurationSpec.model_json_schema(by_alias=True, mode="serialization")
    out = structural_schema(schema)
    for key in ("name", "namespace"):
        out["properties"].pop(key, None)
    out["properties"]["multiTenancy"] = {
        "type": "object",
        "properties": {"enforce": {"type": "boolean"}},
    }
    out["properties"]["generateSshKey"] = {"type": "boolean"}
    out["properties"]["protectedSettingsRef"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}},
    }
    out.pop("description", None)
    out["description"] = (
        "Desired state of a Flux configuration (fluxgitops spec, secrets excluded)."
    )
    return out


def _condition_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "status", "lastTransitionTime", "reason", "message"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
            "observedGeneration": {"type": "integer", "format": "int64"},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "reason": {"type": "string"},
            "message": {"type": "string"},
        },
    }


def _status_schema() -> dict[str, Any]:
    object_status = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "kind": {"type": "string"},
            "apiVersion": {"type": "string"},
            "complianceState": {"type": "string", "enum": _COMPLIANCE_ENUM},
            "appliedBy": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "statusConditions": {"type": "array", "items": _condition_schema()},
            "helmReleaseProperties": {
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": True,
            },
        },
    }
    return {
        "type": "object",
        "properties": {
            "observedGeneration": {"type": "integer", "format": "int64"},
            "conditions": {
                "type": "array",
                "items": _condition_schema(),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["type"],
            },
            "complianceState": {"type": "string", "enum": _COMPLIANCE_ENUM},
            "statuses": {"type": "array", "items": object_status},
            "repositoryPublicKey": {"type": "string"},
            "sourceSyncedCommitId": {"type": "string"},
            "sourceUpdatedAt": {"type": "string", "format": "date-time"},
            "statusUpdatedAt": {"type": "string", "format": "date-time"},
            "lastAppliedRevision": {"type": "string"},
            "lastAttemptedRevision": {"type": "string"},
            "errorMessage": {"type": "string"},
            "inventory": {
                "type": "object",
                "description": "What the reconciler applied (Flux's Kustomization inventory "
                "format); it prunes and finalizes from this list.",
                "properties": {
                    "entries": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id", "v"],
                            "properties": {
                                "id": {
                                    "type": "string",
                                    "description": "<namespace>_<name>_<group>_<kind>",
                                },
                                "v": {"type": "string", "description": "API version"},
                            },
                        },
                    }
                },
            },
        },
    }


def _name_rules() -> list[dict[str, str]]:
    """Rules on ``metadata.name`` (the configuration name), which only the root can see."""
    return [
        {
            "rule": f"size(self.metadata.name) <= {DNS1123_LABEL_MAX}",
            "message": f"metadata.name: a configuration name has at most {DNS1123_LABEL_MAX} "
            "characters (a DNS-1123 label)",
        },
        {
            "rule": "!has(self.spec) || !has(self.spec.kustomizations) || "
            "self.spec.kustomizations.all(k, size(self.metadata.name) + size(k) <= "
            f"{CONFIG_PLUS_KUSTOMIZATION_MAX})",
            "message": "spec.kustomizations: metadata.name + a kustomization name have at most "
            f"{CONFIG_PLUS_KUSTOMIZATION_MAX} characters (the Kustomization is named "
            "'<name>-<kustomization>')",
        },
    ]


def render_fluxconfig_crd() -> Manifest:
    """The ``fluxconfigs.fluxgitops.io`` CRD: schema, status subresource, compliance columns."""
    return Manifest(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": metadata(
                f"{FLUXCONFIG_PLURAL}.{GROUP}", None, {LABEL_MANAGED_BY: "fluxgitops"}
            ),
            "spec": {
                "group": GROUP,
                "names": {
                    "kind": FLUXCONFIG_KIND,
                    "listKind": f"{FLUXCONFIG_KIND}List",
                    "plural": FLUXCONFIG_PLURAL,
                    "singular": FLUXCONFIG_KIND.lower(),
                    "shortNames": ["fc"],
                    "categories": ["fluxgitops"],
                },
                "scope": "Namespaced",
                "versions": [
                    {
                        "name": FLUXCONFIG_VERSION,
                        "served": True,
                        "storage": True,
                        "subresources": {"status": {}},
                        "additionalPrinterColumns": [
                            {
                                "name": "Compliance",
                                "type": "string",
                                "jsonPath": ".status.complianceState",
                            },
                            {
                                "name": "Ready",
                                "type": "string",
                                "jsonPath": f'.status.conditions[?(@.type=="{READY}")].status',
                            },
                            {
                                "name": "Commit",
                                "type": "string",
                                "jsonPath": ".status.sourceSyncedCommitId",
                            },
                            {"name": "Suspended", "type": "boolean", "jsonPath": ".spec.suspend"},
                            {
                                "name": "Age",
                                "type": "date",
                                "jsonPath": ".metadata.creationTimestamp",
                            },
                        ],
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "description": "A Flux configuration reconciled by fluxgitops.",
                                "x-kubernetes-validations": _name_rules(),
                                "properties": {
                                    "apiVersion": {"type": "string"},
                                    "kind": {"type": "string"},
                                    "metadata": {"type": "object"},
                                    "spec": _spec_schema(),
                                    "status": _status_schema(),
                                },
                            }
                        },
                    }
                ],
            },
        }
    )
