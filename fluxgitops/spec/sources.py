"""Source blocks of a Flux configuration: Git, Bucket (S3), Azure Blob and OCI.

One model per ``sourceKind``, with Azure's defaults and every rule that
involves more than one field of the block (SSH vs HTTPS fields, ref
precedence, one auth method). The top-level ``FluxConfigurationSpec``
(``fluxgitops.spec.configuration``) holds exactly one of them. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

from fluxgitops.spec.base import (
    RuleFailure,
    SecretKey,
    SpecModel,
    duration_field,
    raise_rule_failures,
)
from fluxgitops.spec.durations import Duration
from fluxgitops.spec.encoded import KnownHostsCheck, Pem, SshPrivateKey
from fluxgitops.spec.names import (
    MAX_SHORT_TEXT,
    MAX_URL,
    DnsSubdomain,
    LongText,
    ShortText,
    max_length,
)
from fluxgitops.spec.semver import parse_range

DEFAULT_INTERVAL = timedelta(minutes=10)  # Azure: syncIntervalInSeconds = timeoutInSeconds = 600
DEFAULT_BRANCH = "master"  # Azure's default when no repositoryRef is given

_SCP_LIKE = re.compile(r"(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)")
_HEX_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_BAD_REF = re.compile(r"(\.\.|[\s~^:?*\[\\]|@\{|//|^/|/$|\.lock$|^\.|/\.|\.$)")


# ---------------------------------------------------------------- field types


def _scheme_case(value: str, schemes: tuple[str, ...]) -> None:
    """Flux's CRD patterns (``^(http|https|ssh)://``) accept lower-case schemes only."""
    scheme, sep, _ = value.partition("://")
    if sep and scheme.lower() in schemes and scheme not in schemes:
        raise PydanticCustomError(
            "url_scheme_case",
            "the scheme must be lower-case ({wanted}): the Flux source CRDs accept only "
            "lower-case schemes",
            {"wanted": repr(f"{scheme.lower()}://")},
        )


def _git_url(value: str) -> str:
    _scheme_case(value, ("http", "https", "ssh"))
    scp = _SCP_LIKE.fullmatch(value)
    if scp:
        return f"ssh://{scp.group('user')}@{scp.group('host')}/{scp.group('path')}"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https", "ssh") or not parts.hostname:
        raise PydanticCustomError(
            "git_url",
            "must be an http://, https:// or ssh:// URL with a host, or scp-like 'git@host:path'",
        )
    return value


def _oci_url(value: str) -> str:
    _scheme_case(value, ("oci",))
    parts = urlsplit(value)
    if parts.scheme != "oci" or not parts.hostname or not parts.path.strip("/"):
        raise PydanticCustomError(
            "oci_url", "must be an oci:// URL naming a repository, such as 'oci://ghcr.io/org/repo'"
        )
    return value


def _endpoint_url(value: str) -> str:
    _scheme_case(value, ("http", "https"))
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
        # the az CLI (VALID_BUCKET_URL_REGEX) and Terraform both require the scheme
        raise PydanticCustomError(
            "bucket_url",
            "must be an http:// or https:// URL of the S3 endpoint without a path, "
            "such as 'https://minio.example.com:9000'",
        )
    return value


def _blob_url(value: str) -> str:
    _scheme_case(value, ("https",))
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.path.strip("/"):
        raise PydanticCustomError(
            "blob_url",
            "must be an https:// storage account endpoint without a path, "
            "such as 'https://account.blob.core.windows.net'",
        )
    return value


def _git_ref_name(value: str) -> str:
    if not value or _BAD_REF.search(value):
        raise PydanticCustomError(
            "git_ref_name",
            "must be a valid Git ref name: no spaces, '..', '~', '^', ':', '?', '*', '[', '\\', "
            "no leading or trailing '/' or '.', not ending in '.lock'",
        )
    return value


def _semver_range(value: str) -> str:
    try:
        parse_range(value)
    except ValueError as exc:
        raise PydanticCustomError(
            "semver_range",
            "must be a semver range such as '>=1.0.0 <2.0.0', '~1.2' or '^1.2.3': {reason}",
            {"reason": str(exc)},
        ) from None
    return value


def _commit(value: str) -> str:
    if not _HEX_SHA.fullmatch(value):
        raise PydanticCustomError(
            "git_commit", "must be a full lower-case hex commit SHA (40 or 64 characters)"
        )
    return value


def _digest(value: str) -> str:
    if not _DIGEST.fullmatch(value):
        raise PydanticCustomError(
            "oci_digest", "must be 'sha256:' followed by 64 lower-case hex digits"
        )
    return value


def _bucket_name(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        raise PydanticCustomError(
            "bucket_name",
            "must be 3-63 lower-case letters, digits, '.' or '-', starting and ending alphanumeric",
        )
    return value


def _container_name(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]", value):
        raise PydanticCustomError(
            "container_name",
            "must be 3-63 lower-case letters, digits or single '-', "
            "starting and ending alphanumeric",
        )
    return value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


GitUrl = Annotated[str, max_length(MAX_URL), AfterValidator(_git_url)]
OciUrl = Annotated[str, max_length(MAX_URL), AfterValidator(_oci_url)]
EndpointUrl = Annotated[str, max_length(MAX_URL), AfterValidator(_endpoint_url)]
BlobUrl = Annotated[str, max_length(MAX_URL), AfterValidator(_blob_url)]
GitRefName = Annotated[str, max_length(MAX_SHORT_TEXT), AfterValidator(_git_ref_name)]
SemverRange = Annotated[str, max_length(MAX_SHORT_TEXT), AfterValidator(_semver_range)]
CommitSha = Annotated[str, AfterValidator(_commit)]
OciDigest = Annotated[str, AfterValidator(_digest)]
BucketName = Annotated[str, AfterValidator(_bucket_name)]
ContainerName = Annotated[str, AfterValidator(_container_name)]
GitProvider = Annotated[Literal["generic", "azure", "github"], BeforeValidator(_lower)]


def is_ssh_url(url: str) -> bool:
    """True for ``ssh://`` URLs (scp-like URLs are normalised to ``ssh://`` on input)."""
    return url.startswith("ssh://")


def _set(model: SpecModel, *names: str) -> list[str]:
    return [n for n in names if getattr(model, n) is not None]


def _alias(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


# ---------------------------------------------------------------- Git


class RepositoryRef(SpecModel):
    """Which revision of the Git repository to sync; one of branch, tag, semver or commit.

    ``branch`` may accompany ``commit`` (Flux checks the commit out of that
    branch); any other combination is ambiguous and rejected.
    """

    branch: GitRefName | None = None
    tag: GitRefName | None = None
    semver: SemverRange | None = None
    commit: CommitSha | None = None

    @model_validator(mode="after")
    def _one_ref(self) -> RepositoryRef:
        chosen = _set(self, "branch", "tag", "semver", "commit")
        if not chosen:
            raise_rule_failures(
                [
                    RuleFailure(
                        "",
                        "set one of branch, tag, semver or commit (or omit repositoryRef "
                        f"for branch {DEFAULT_BRANCH!r})",
                    )
                ]
            )
        if len(chosen) > 1 and chosen != ["branch", "commit"]:
            raise_rule_failures(
                [
                    RuleFailure(
                        chosen[1],
                        f"conflicts with {chosen[0]!r}: set exactly one of branch, tag, semver or "
                        "commit (branch may accompany commit)",
                    )
                ]
            )
        return self


class LocalAuthRefMixin(SpecModel):
    """``localAuthRef``: an existing Secret with the credentials, in the configuration namespace."""

    local_auth_ref: DnsSubdomain | None = None


class GitRepositorySource(LocalAuthRefMixin):
    """``gitRepository``: a Git repository over HTTPS or SSH (ARM ``GitRepositoryDefinition``)."""

    url: GitUrl
    repository_ref: RepositoryRef = Field(
        default_factory=lambda: RepositoryRef(branch=DEFAULT_BRANCH)
    )
    timeout: Duration = duration_field(DEFAULT_INTERVAL, azure="timeoutInSeconds", name="timeout")
    sync_interval: Duration = duration_field(
        DEFAULT_INTERVAL, azure="syncIntervalInSeconds", name="sync_interval"
    )
    ssh_private_key: Annotated[
        SecretStr | None, SshPrivateKey, SecretKey("identity", arm="sshPrivateKey")
    ] = None
    ssh_known_hosts: Annotated[LongText | None, KnownHostsCheck] = None
    https_user: ShortText | None = None
    https_key: Annotated[SecretStr | None, SecretKey("password", arm="httpsKey")] = None
    https_ca_cert: Annotated[LongText | None, Pem] = Field(default=None, alias="httpsCACert")
    provider: GitProvider = "generic"

    @property
    def is_ssh(self) -> bool:
        """True when the URL is an SSH URL."""
        return is_ssh_url(self.url)

    @property
    def generates_ssh_key(self) -> bool:
        """True when an SSH key pair must be generated (SSH URL, no key, no localAuthRef)."""
        return self.is_ssh and self.ssh_private_key is None and self.local_auth_ref is None

    @model_validator(mode="after")
    def _auth_rules(self) -> GitRepositorySource:
        raise_rule_failures(self._failures())
        return self

    def _failures(self) -> Iterator[RuleFailure]:
        if self.is_ssh:
            for name in _set(self, "https_user", "https_key", "https_ca_cert"):
                yield RuleFailure(
                    _alias(name) if name != "https_ca_cert" else "httpsCACert",
                    "is only allowed with an http(s):// URL; this URL is ssh://",
                )
        else:
            for name in _set(self, "ssh_private_key", "ssh_known_hosts"):
                yield RuleFailure(
                    _alias(name), "is only allowed with an ssh:// or git@host:path URL"
                )
        if self.https_user is not None and self.https_key is None:
            yield RuleFailure("httpsKey", "is required when httpsUser is set")
        if self.https_key is not None and self.https_user is None:
            yield RuleFailure("httpsUser", "is required when httpsKey is set")
        inline = _set(self, "ssh_private_key", "https_key")
        if self.local_auth_ref is not None and inline:
            yield RuleFailure(
                "localAuthRef",
                f"cannot be combined with inline {_alias(inline[0])}: "
                "use either the existing Secret or inline credentials",
            )
        if self.provider != "generic":
            if self.is_ssh:
                yield RuleFailure("provider", f"{self.provider!r} needs an https:// URL")
            if inline or self.https_user is not None:
                yield RuleFailure(
                    "provider",
                    f"{self.provider!r} authenticates by identity; "
                    "remove httpsUser/httpsKey/sshPrivateKey",
                )


# ---------------------------------------------------------------- Bucket


class BucketSource(LocalAuthRefMixin):
    """``bucket``: an S3-compatible bucket (ARM ``BucketDefinition``).

    ARM defaults ``insecure`` to true; an explicit ``http://`` or ``https://``
    URL decides it instead, and contradicting it is an error.
    """

    url: EndpointUrl
    bucket_name: BucketName
    access_key: ShortText | None = None
    secret_key: Annotated[SecretStr | None, SecretKey("secretkey", arm="bucketSecretKey")] = Field(
        default=None,
        validation_alias=AliasChoices("secretKey", "secret_key", "bucketSecretKey"),
        serialization_alias="secretKey",
    )
    insecure: bool | None = None
    timeout: Duration = duration_field(DEFAULT_INTERVAL, azure="timeoutInSeconds", name="timeout")
    sync_interval: Duration = duration_field(
        DEFAULT_INTERVAL, azure="syncIntervalInSeconds", name="sync_interval"
    )

    @property
    def endpoint(self) -> str:
        """The ``host[:port]`` Flux wants in ``Bucket.spec.endpoint``."""
        return self.url.split("://", 1)[-1].rstrip("/")

    @property
    def effective_insecure(self) -> bool:
        """Plain HTTP? From the URL scheme when given, else ``insecure`` (ARM default true)."""
        if self.url.startswith("https://"):
            return False
        if self.url.startswith("http://"):
            return True
        return True if self.insecure is None else self.insecure

    @model_validator(mode="after")
    def _rules(self) -> BucketSource:
        failures: list[RuleFailure] = []
        has_scheme = self.url.startswith(("http://", "https://"))
        if has_scheme and self.insecure not in (None, self.url.startswith("http://")):
            failures.append(RuleFailure("insecure", f"contradicts the URL scheme of {self.url!r}"))
        if self.secret_key is not None and self.access_key is None:
            # ARM's own example sets accessKey alone; a secret key without its access key
            # can never authenticate
            failures.append(
                RuleFailure("accessKey", "is required with secretKey (ARM: bucketSecretKey)")
            )
        if self.local_auth_ref is not None and self.access_key is not None:
            failures.append(RuleFailure("localAuthRef", "cannot be combined with accessKey"))
        raise_rule_failures(failures)
        return self


# ---------------------------------------------------------------- Azure Blob


class ManagedIdentity(SpecModel):
    """A user-assigned managed identity by client ID."""

    client_id: ShortText


class ServicePrincipal(SpecModel):
    """An Entra ID service principal with a client secret or a client certificate."""

    client_id: ShortText
    tenant_id: ShortText
    client_secret: Annotated[SecretStr | None, SecretKey("clientSecret")] = None
    client_certificate: Annotated[SecretStr | None, Pem, SecretKey("clientCertificate")] = None
    client_certificate_password: Annotated[
        SecretStr | None, SecretKey("clientCertificatePassword")
    ] = None
    client_certificate_send_chain: bool = False

    @model_validator(mode="after")
    def _rules(self) -> ServicePrincipal:
        failures: list[RuleFailure] = []
        chosen = _set(self, "client_secret", "client_certificate")
        if len(chosen) != 1:
            failures.append(
                RuleFailure("clientSecret", "set exactly one of clientSecret or clientCertificate")
            )
        if self.client_certificate is None:
            if self.client_certificate_password is not None:
                failures.append(RuleFailure("clientCertificatePassword", "needs clientCertificate"))
            if self.client_certificate_send_chain:
                failures.append(
                    RuleFailure("clientCertificateSendChain", "needs clientCertificate")
                )
        raise_rule_failures(failures)
        return self


class AzureBlobSource(LocalAuthRefMixin):
    """``azureBlob``: an Azure Storage container; exactly one authentication method."""

    url: BlobUrl
    container_name: ContainerName
    account_key: Annotated[SecretStr | None, SecretKey("accountKey")] = None
    sas_token: Annotated[SecretStr | None, SecretKey("sasKey")] = None
    managed_identity: ManagedIdentity | None = None
    service_principal: ServicePrincipal | None = None
    timeout: Duration = duration_field(DEFAULT_INTERVAL, azure="timeoutInSeconds", name="timeout")
    sync_interval: Duration = duration_field(
        DEFAULT_INTERVAL, azure="syncIntervalInSeconds", name="sync_interval"
    )

    AUTH_FIELDS: ClassVar[tuple[str, ...]] = (
        "account_key",
        "sas_token",
        "managed_identity",
        "service_principal",
        "local_auth_ref",
    )

    @model_validator(mode="after")
    def _one_auth(self) -> AzureBlobSource:
        chosen = _set(self, *self.AUTH_FIELDS)
        allowed = ", ".join(_alias(n) for n in self.AUTH_FIELDS)
        if not chosen:
            raise_rule_failures(
                [RuleFailure("", f"set exactly one authentication method: {allowed}")]
            )
        if len(chosen) > 1:
            raise_rule_failures(
                [
                    RuleFailure(
                        _alias(chosen[1]),
                        f"conflicts with {_alias(chosen[0])}: "
                        f"set exactly one authentication method: {allowed}",
                    )
                ]
            )
        return self


# ---------------------------------------------------------------- OCI


class OciRepositoryRef(SpecModel):
    """Which artifact to pull: one of tag (default ``latest``), semver or digest."""

    tag: ShortText | None = None
    semver: SemverRange | None = None
    semver_filter: ShortText | None = None
    digest: OciDigest | None = None

    @model_validator(mode="after")
    def _one_ref(self) -> OciRepositoryRef:
        failures: list[RuleFailure] = []
        chosen = _set(self, "tag", "semver", "digest")
        if len(chosen) > 1:
            failures.append(
                RuleFailure(
                    chosen[1], f"conflicts with {chosen[0]!r}: set one of tag, semver or digest"
                )
            )
        if self.semver_filter is not None:
            if self.semver is None:
                failures.append(RuleFailure("semverFilter", "needs semver"))
            try:
                re.compile(self.semver_filter)
            except re.error as exc:
                failures.append(
                    RuleFailure("semverFilter", f"is not a valid regular expression: {exc}")
                )
        raise_rule_failures(failures)
        return self


class LayerSelector(SpecModel):
    """Which layer of the artifact to use, and whether to extract or copy it."""

    media_type: ShortText
    operation: Literal["extract", "copy"] = "extract"


class OidcIdentity(SpecModel):
    """An OIDC issuer/subject pair (regular expressions) that signatures must match."""

    issuer: ShortText
    subject: ShortText


class Verify(SpecModel):
    """Signature verification of the OCI artifact (cosign or notation)."""

    provider: Literal["cosign", "notation"]
    verification_config: dict[ShortText, LongText] = Field(default_factory=dict, max_length=20)
    match_oidc_identity: list[OidcIdentity] = Field(default_factory=list, max_length=20)


class TlsConfig(SpecModel):
    """Mutual TLS towards the registry: client certificate, its key, and a CA."""

    client_certificate: Annotated[SecretStr | None, Pem, SecretKey("tls.crt")] = None
    private_key: Annotated[SecretStr | None, Pem, SecretKey("tls.key")] = None
    ca_certificate: Annotated[SecretStr | None, Pem, SecretKey("ca.crt")] = None

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.client_certificate is None) != (self.private_key is None):
            missing = "privateKey" if self.private_key is None else "clientCertificate"
            raise_rule_failures(
                [RuleFailure(missing, "clientCertificate and privateKey go together")]
            )
        return self


class OciRepositorySource(LocalAuthRefMixin):
    """``ociRepository``: an OCI artifact (ARM ``OCIRepositoryDefinition``, API 2024-11-01+)."""

    url: OciUrl
    repository_ref: OciRepositoryRef = Field(default_factory=lambda: OciRepositoryRef(tag="latest"))
    layer_selector: LayerSelector | None = None
    verify: Verify | None = None
    insecure: bool = False
    use_workload_identity: bool = False
    service_account_name: DnsSubdomain | None = None
    tls_config: TlsConfig | None = None
    timeout: Duration = duration_field(DEFAULT_INTERVAL, azure="timeoutInSeconds", name="timeout")
    sync_interval: Duration = duration_field(
        DEFAULT_INTERVAL, azure="syncIntervalInSeconds", name="sync_interval"
    )

    @model_validator(mode="after")
    def _rules(self) -> OciRepositorySource:
        failures: list[RuleFailure] = []
        if self.use_workload_identity:
            for name in _set(self, "local_auth_ref", "service_account_name"):
                failures.append(
                    RuleFailure(_alias(name), "cannot be combined with useWorkloadIdentity")
                )
        if self.verify and self.verify.match_oidc_identity and self.verify.provider != "cosign":
            failures.append(
                RuleFailure("verify.matchOidcIdentity", "is only supported by the cosign provider")
            )
        raise_rule_failures(failures)
        return self


SourceKind = Literal["GitRepository", "Bucket", "AzureBlob", "OCIRepository"]
Source = GitRepositorySource | BucketSource | AzureBlobSource | OciRepositorySource
