"""A FluxConfig read back: its spec and protected settings → the configuration it describes.

The inverse of ``fluxgitops.fluxconfig.render.fluxconfig_spec``. Protected
settings — the decision: the ``<config>-auth`` Secret named by
``spec.protectedSettingsRef`` belongs to whoever applied the FluxConfig (the
dynamic provider / Pulumi, which holds the secret values). The reconciler only
*reads* it and merges its values back into the spec where the spec needs them
(validation needs ``httpsKey`` next to ``httpsUser``, an Azure Blob needs its
one auth method, an inline SSH key means "do not generate one"); it never
writes, relabels or prunes it — re-applying values it read could undo a
credential rotation racing with it, and it could not restore the values if the
Secret were deleted. The one exception is a generated SSH key
(``generateSshKey: true``): then the reconciler is the only writer of
``identity`` / ``identity.pub`` in that Secret (server-side apply shares the
other keys with the applier), and the private key never leaves the cluster.
``entry_from_fluxconfig`` turns a live FluxConfig into a stack entry (the CLI's
import). Called by the reconciler and the CLI. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from fluxgitops.errors import FieldError, SpecError
from fluxgitops.fluxconfig.vocabulary import CR_ONLY_FIELDS, subject
from fluxgitops.manifest import Manifest, ObjectKey
from fluxgitops.meta import (
    LABEL_CONFIGURATION,
    LABEL_CONFIGURATION_NAMESPACE,
    auth_secret_name,
)
from fluxgitops.render.configuration import RenderOptions, render_configuration
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.spec.importing import Imported
from fluxgitops.spec.parse import parse_configuration
from fluxgitops.spec.secrets import PROTECTED_SETTINGS
from fluxgitops.spec.sources import GitRepositorySource
from fluxgitops.sshkeys import SshIdentity, public_key_of


@dataclass(frozen=True)
class DesiredConfiguration:
    """A FluxConfig read back: the validated spec and what the CR adds to it."""

    spec: FluxConfigurationSpec
    multi_tenancy: bool
    generate_ssh_key: bool
    protected_settings: str | None
    """The applier-owned Secret named by ``protectedSettingsRef`` (None when there is none)."""

    @property
    def auth_secret(self) -> ObjectKey:
        """The key of the ``<config>-auth`` Secret."""
        return ObjectKey("v1", "Secret", self.spec.namespace, auth_secret_name(self.spec.name))


def decode_secret_data(data: Mapping[str, Any] | None) -> dict[str, str]:
    """A Secret's ``data`` decoded from base64 (undecodable values are left out)."""
    out: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return out


def protected_settings_ref(cr_spec: Mapping[str, Any]) -> str | None:
    """The Secret named by ``spec.protectedSettingsRef`` (None when there is none)."""
    ref = cr_spec.get("protectedSettingsRef")
    if isinstance(ref, Mapping) and isinstance(ref.get("name"), str) and ref["name"]:
        return str(ref["name"])
    return None


def secret_to_read(name: str, cr_spec: Mapping[str, Any]) -> str | None:
    """The Secret a reconcile must read: the protected settings, or where a generated key lives."""
    ref = protected_settings_ref(cr_spec)
    if ref is None and cr_spec.get("generateSshKey") is True:
        return auth_secret_name(name)
    return ref


def merge_protected_settings(
    cr_spec: Mapping[str, Any], secret_data: Mapping[str, str], *, generated_key: bool
) -> dict[str, Any]:
    """``cr_spec`` with the secret values of ``secret_data`` put back into the source block.

    A value goes back only into a block (and sub-block) the spec already has;
    with ``generated_key`` the ``identity`` is the reconciler's own key, not input.
    """
    raw: dict[str, Any] = copy.deepcopy(dict(cr_spec))
    for block, fields in PROTECTED_SETTINGS.items():
        node = raw.get(block)
        if not isinstance(node, dict):
            continue
        for key, path in fields.items():
            if key not in secret_data or (generated_key and key == "identity"):
                continue
            *parents, leaf = path.split(".")
            target: Any = node
            for part in parents:
                target = target.get(part) if isinstance(target, dict) else None
            if isinstance(target, dict):
                target[leaf] = secret_data[key]
    return raw


def configuration_from_cr(
    name: str,
    namespace: str,
    cr_spec: Mapping[str, Any] | None,
    secret_data: Mapping[str, str] | None = None,
) -> DesiredConfiguration:
    """The configuration a FluxConfig describes; ``SpecError`` naming every problem.

    ``secret_data`` is the decoded protected-settings Secret (None when there is none).
    """
    where = subject(namespace, name)
    if not isinstance(cr_spec, Mapping):
        raise SpecError(where, [FieldError("spec", "must be a mapping")])
    problems: list[FieldError] = []
    tenancy = cr_spec.get("multiTenancy")
    enforce = tenancy.get("enforce", True) if isinstance(tenancy, Mapping) else True
    if not isinstance(enforce, bool):
        problems.append(FieldError("multiTenancy.enforce", "must be true or false", repr(enforce)))
    generate = cr_spec.get("generateSshKey", False)
    if not isinstance(generate, bool):
        problems.append(FieldError("generateSshKey", "must be true or false", repr(generate)))
    raw = {k: v for k, v in cr_spec.items() if k not in CR_ONLY_FIELDS}
    raw = merge_protected_settings(raw, secret_data or {}, generated_key=generate is True)
    raw.update({"name": name, "namespace": namespace})
    try:
        spec = parse_configuration(raw)
    except SpecError as exc:
        raise SpecError(where, [*exc.errors, *problems]) from None
    if problems:
        raise SpecError(where, problems)
    source = spec.source
    return DesiredConfiguration(
        spec=spec,
        multi_tenancy=bool(enforce),
        generate_ssh_key=isinstance(source, GitRepositorySource) and source.generates_ssh_key,
        protected_settings=protected_settings_ref(cr_spec),
    )


def identity_from_secret(secret_data: Mapping[str, str] | None) -> SshIdentity | None:
    """The generated key kept in the auth Secret, or None when absent or unreadable."""
    private = (secret_data or {}).get("identity")
    if not private:
        return None
    try:
        return SshIdentity(SecretStr(private), public_key_of(private))
    except (ValueError, TypeError):
        return None


def owned_manifests(
    desired: DesiredConfiguration, identity: SshIdentity | None = None
) -> list[Manifest]:
    """What the reconciler applies, in order: the render without the FluxConfig and without the
    applier-owned auth Secret (kept only when it carries the generated key)."""
    manifests = render_configuration(
        desired.spec,
        RenderOptions(
            multi_tenancy=desired.multi_tenancy, ssh_identity=identity, include_fluxconfig=False
        ),
    )
    if desired.generate_ssh_key and identity is not None:
        return manifests
    return [m for m in manifests if m.key != desired.auth_secret]


def owner_of(labels: Mapping[str, str] | None) -> tuple[str, str | None] | None:
    """``(namespace, configuration)`` from an object's labels; configuration None when shared."""
    labels = labels or {}
    namespace = labels.get(LABEL_CONFIGURATION_NAMESPACE)
    if not namespace:
        return None
    return namespace, labels.get(LABEL_CONFIGURATION)


def entry_from_fluxconfig(body: Mapping[str, Any], secret_data: Mapping[str, str]) -> Imported:
    """A stack entry from a live FluxConfig and its decoded protected-settings Secret.

    The inverse of what the provider applies: the CR's spec without the keys
    only the CR has, named and namespaced as the object; each secret value the
    Secret holds comes back apart, by the dotted path of its field (for
    ``pulumi config set --secret``). A generated SSH key is not the user's
    input and is left out (``generateSshKey``).
    """
    meta = body.get("metadata") or {}
    spec = dict(body.get("spec") or {})
    entry: dict[str, Any] = {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        **{k: copy.deepcopy(v) for k, v in spec.items() if k not in CR_ONLY_FIELDS},
    }
    generated = spec.get("generateSshKey") is True
    secrets: dict[str, str] = {}
    for block, fields in PROTECTED_SETTINGS.items():
        if not isinstance(entry.get(block), Mapping):
            continue
        for key, path in fields.items():
            if key in secret_data and not (generated and key == "identity"):
                secrets[f"{block}.{path}"] = secret_data[key]
    dropped = [k for k in CR_ONLY_FIELDS if k in spec]
    return Imported(entry, secrets, dropped)
