"""ARM's own shape of a fluxConfiguration, folded into the spec's input form.

A body copied from an ARM template, Bicep or ``az k8s-configuration flux show``
carries its secrets in ``configurationProtectedSettings`` (``sshPrivateKey``,
``httpsKey``, ``bucketSecretKey``; base64 values, as ARM defines them).
``fold_protected_settings`` moves each value, decoded, to the field of the
source block it belongs to, so both forms mean the same thing on both
backends; a value that is not base64, a key ARM does not define, or a value
given twice is a ``FieldError`` naming ``configurationProtectedSettings.<key>``.

``READ_ONLY_FIELDS`` are what ARM reports but never takes as input
(``fluxgitops.spec.importing`` leaves them out of an imported entry).

Called by ``fluxgitops.spec.parse.parse_configuration`` and
``fluxgitops.spec.importing``. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fluxgitops.errors import SECRET_MASK, FieldError
from fluxgitops.spec.encoded import decode_base64_text
from fluxgitops.spec.secrets import ARM_PROTECTED_SETTINGS

PROTECTED_SETTINGS_KEY = "configurationProtectedSettings"

READ_ONLY_FIELDS = frozenset(
    {
        "id",
        "type",
        "systemData",
        "resourceGroup",
        "complianceState",
        "errorMessage",
        "provisioningState",
        "repositoryPublicKey",
        "sourceSyncedCommitId",
        "sourceUpdatedAt",
        "statusUpdatedAt",
        "statuses",
    }
)
"""What ARM reports about a fluxConfiguration but never takes as input."""


EMPTY_MEANS_UNSET = frozenset({"sshKnownHosts", "httpsCACert", "httpsUser", "localAuthRef"})
"""Optional text fields that ARM templates (Bicep modules) send as ``''`` when unset."""


def _unset_removed(node: Any) -> Any:
    """ARM's "unset": null anywhere (every optional ARM field is x-nullable) and ``''`` for
    the optional text fields above; both mean the field is not given."""
    if isinstance(node, Mapping):
        return {
            k: _unset_removed(v)
            for k, v in node.items()
            if v is not None and not (v == "" and k in EMPTY_MEANS_UNSET)
        }
    if isinstance(node, list):
        return [_unset_removed(v) for v in node]
    return node


def _echoed_names_removed(raw: dict[str, Any]) -> list[FieldError]:
    """ARM echoes each kustomization's map key as its read-only ``name``; drop that echo."""
    kustomizations = raw.get("kustomizations")
    if not isinstance(kustomizations, Mapping):
        return []
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    for key, body in kustomizations.items():
        if not (isinstance(body, Mapping) and "name" in body):
            cleaned[key] = body
            continue
        if body["name"] != key:
            errors.append(
                FieldError(
                    f"kustomizations.{key}.name",
                    "is read-only in ARM and must equal the kustomization's key",
                    repr(body["name"]),
                )
            )
        cleaned[key] = {k: v for k, v in body.items() if k != "name"}
    raw["kustomizations"] = cleaned
    return errors


def fold_protected_settings(raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """``raw`` in the spec's input form, and errors: ARM's unset values removed, echoed
    kustomization names dropped, ``configurationProtectedSettings`` moved into its source block.
    """
    out: dict[str, Any] = _unset_removed(raw)
    echoed = _echoed_names_removed(out)
    settings = out.pop(PROTECTED_SETTINGS_KEY, None)
    if settings is None:
        return out, echoed
    if not isinstance(settings, Mapping):
        message = "must be a mapping of protected setting → base64 value"
        return out, [*echoed, FieldError(PROTECTED_SETTINGS_KEY, message)]
    errors: list[FieldError] = list(echoed)
    for key, value in settings.items():
        path = f"{PROTECTED_SETTINGS_KEY}.{key}"
        target = ARM_PROTECTED_SETTINGS.get(str(key))
        if target is None:
            allowed = ", ".join(ARM_PROTECTED_SETTINGS)
            errors.append(FieldError(path, f"is not a protected setting ARM defines ({allowed})"))
            continue
        if value is None:
            continue
        decoded = decode_base64_text(value) if isinstance(value, str) else None
        if decoded is None:
            errors.append(
                FieldError(
                    path,
                    "must be base64, as ARM defines configurationProtectedSettings values "
                    f"(or give the plain value as {'.'.join(target)})",
                    SECRET_MASK,
                )
            )
            continue
        block_name, leaf = target
        block = out.get(block_name)
        if not isinstance(block, Mapping):
            errors.append(
                FieldError(
                    path, f"belongs to a {block_name} source, but this configuration has none"
                )
            )
            continue
        if block.get(leaf) is not None:
            errors.append(
                FieldError(
                    path, f"is also given as {block_name}.{leaf}; give the secret in one place"
                )
            )
            continue
        out[block_name] = {**block, leaf: decoded}
    return out, errors
