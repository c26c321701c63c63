"""Plan-time checks of a configuration's Git source, before anything is applied.

``check_source`` resolves the configured ref without a full clone (``git
ls-remote`` for branches, tags and semver ranges — the highest matching tag,
as Flux picks it; a shallow fetch proves a pinned commit exists), reports the
commit that will be synced, fetches that one commit shallowly into a temporary
bare repository, checks that every Kustomization path is a directory there,
reads the manifests Flux would build (multi-document YAML, following
``kustomization.yaml`` resources, or every YAML file as Flux generates it) and
runs ``fluxgitops.tenancy`` on them. ``SourceChecker`` is one run: it caches
resolved refs and fetched commits per (url, ref) and removes its files on
``close``.

Credentials come from the spec and never reach a command line, a URL, a log
line, an exception or a repr: HTTPS user and token through a ``GIT_ASKPASS``
script that reads them from the child's environment; an SSH key written to a
0600 file used by ``GIT_SSH_COMMAND`` and removed after the check; git's stderr
is scrubbed of every secret before use. Called by the CLI (``fluxgitops
validate``), the dynamic provider's check and the tests. I/O: git CLI and
GitPython; no Pulumi.
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import hashlib
import logging
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import git

from fluxgitops.errors import (
    SECRET_MASK,
    FieldError,
    SourceCheckError,
    SourceUnavailableError,
)
from fluxgitops.spec import FluxConfigurationSpec, FluxExtensionSpec, GitRepositorySource
from fluxgitops.spec.base import secret_value
from fluxgitops.spec.semver import parse_range
from fluxgitops.spec.sources import RepositoryRef
from fluxgitops.tenancy import FileManifest, Finding, ManifestCollector, check_manifests

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 60.0
_AUTH = re.compile(
    r"authentication failed|could not read (username|password)|permission denied \(publickey|"
    r"http(/[\d.]+)? (401|403)|the requested url returned error: (401|403)",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(
    r"repository '.*' not found|does not appear to be a git repository|"
    r"the requested url returned error: 404|no such file or directory",
    re.IGNORECASE,
)
_NO_OBJECT = re.compile(r"not our ref|unadvertised object|couldn't find remote ref", re.I)
_ASKPASS = """#!/bin/sh
case "$1" in
  [Uu]sername*) printf '%s\\n' "$FLUXGITOPS_GIT_USERNAME" ;;
  *) printf '%s\\n' "$FLUXGITOPS_GIT_PASSWORD" ;;
esac
"""


@dataclass(frozen=True)
class SourceReport:
    """What the check of one configuration's source found."""

    configuration: str
    url: str
    ref: str
    commit: str | None = None
    checked: bool = False
    paths: tuple[str, ...] = ()
    manifests: int = 0
    findings: tuple[Finding, ...] = ()
    errors: tuple[FieldError, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing blocks the configuration (warnings allowed)."""
        return not self.errors

    def summary(self) -> str:
        """One line: what was checked and the outcome."""
        at = f"commit {self.commit}" if self.commit else "commit not resolved"
        return (
            f"{self.configuration}: {self.url} {self.ref} → {at}; {len(self.paths)} paths, "
            f"{self.manifests} manifests, {len(self.errors)} errors, {len(self.warnings)} warnings"
        )


@dataclass(frozen=True)
class _Resolved:
    description: str
    commit: str | None  # None when only a fetch can tell (pinned commits)
    fetch: str  # ref name or SHA to fetch


class _GitError(Exception):
    """A git command failed; ``detail`` is scrubbed stderr; ``kind`` classifies it."""

    def __init__(self, detail: str, kind: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.kind = kind  # auth | host-key | not-found | no-object | unreachable | other


def split_url(url: str) -> tuple[str, str | None, str | None]:
    """(URL without credentials, user, password); ssh:// URLs keep their user name."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ssh") or "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    netloc = f"{user}@{host}" if parts.scheme == "ssh" else host
    return urlunsplit(parts._replace(netloc=netloc)), user or None, password or None


def describe_ref(ref: RepositoryRef) -> str:
    """``branch 'main'``, ``tag 'v1'``, ``semver '>=1 <2'`` or ``commit <sha>``."""
    if ref.commit:
        return f"commit {ref.commit}" + (f" on branch {ref.branch!r}" if ref.branch else "")
    for name in ("tag", "semver", "branch"):
        if getattr(ref, name):
            return f"{name} {getattr(ref, name)!r}"
    return "no ref"


class _Git:
    """Runs the git CLI: credentials only in its environment, a timeout, scrubbed stderr."""

    def __init__(self, source: GitRepositorySource, workdir: Path, timeout: float) -> None:
        self.url, url_user, url_password = split_url(source.url)
        self.timeout = timeout
        self.files: list[Path] = []
        self.secrets: list[str] = []
        self.has_credentials = False
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SSH_ASKPASS"))}
        config = {"credential.helper": "", "core.askPass": "", "protocol.version": "2"}
        env.update(
            GIT_TERMINAL_PROMPT="0",
            GCM_INTERACTIVE="never",
            GIT_HTTP_LOW_SPEED_LIMIT="1",
            GIT_HTTP_LOW_SPEED_TIME=str(max(1, int(timeout))),
        )
        user = source.https_user or url_user
        password = secret_value(source.https_key) or url_password
        if user and password and not source.is_ssh:
            askpass = self._write(workdir, "askpass", _ASKPASS, 0o700)
            env.update(
                GIT_ASKPASS=str(askpass),
                FLUXGITOPS_GIT_USERNAME=user,
                FLUXGITOPS_GIT_PASSWORD=password,
            )
            self.secrets += [password, base64.b64encode(f"{user}:{password}".encode()).decode()]
            self.has_credentials = True
        if source.https_ca_cert:
            ca = self._write(workdir, "ca.pem", source.https_ca_cert, 0o600)
            config["http.sslCAInfo"] = str(ca)
        if source.is_ssh:
            ssh = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, int(timeout))}"]
            key = secret_value(source.ssh_private_key)
            if key:
                path = self._write(workdir, "identity", key.rstrip("\n") + "\n", 0o600)
                ssh += ["-i", str(path), "-o", "IdentitiesOnly=yes"]
                self.secrets += [line for line in key.splitlines() if len(line) >= 16]
                self.has_credentials = True
            if source.ssh_known_hosts:
                hosts = self._write(workdir, "known_hosts", source.ssh_known_hosts, 0o600)
                ssh += ["-o", f"UserKnownHostsFile={hosts}"]
            ssh += ["-o", "StrictHostKeyChecking=yes"]
            env["GIT_SSH_COMMAND"] = shlex.join(ssh)
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key_name, value) in enumerate(config.items()):
            env[f"GIT_CONFIG_KEY_{index}"] = key_name
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        if url_password:
            self.secrets.append(url_password)
        self.env = env
        digest = hashlib.sha256("\0".join([self.url, *self.secrets]).encode()).hexdigest()
        self.fingerprint = f"{self.url}#{digest[:16]}"  # cache key: same URL, other credentials

    def __repr__(self) -> str:
        return f"_Git(url={self.url!r}, credentials={'[secret]' if self.secrets else 'none'})"

    def _write(self, workdir: Path, name: str, content: str, mode: int) -> Path:
        directory = Path(tempfile.mkdtemp(prefix="cred-", dir=workdir))
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w") as handle:
            handle.write(content)
        self.files.append(directory)
        return path

    def cleanup(self) -> None:
        """Remove the askpass script, key, known_hosts and CA files."""
        for directory in self.files:
            shutil.rmtree(directory, ignore_errors=True)
        self.files.clear()

    def scrub(self, text: str) -> str:
        """``text`` with every secret and URL password replaced by the mask."""
        for secret in self.secrets:
            text = text.replace(secret, SECRET_MASK)
        return re.sub(r"://([^/@:\s]*):[^/@\s]*@", rf"://\1:{SECRET_MASK}@", text)

    def run(self, *args: str, cwd: Path | None = None) -> str:
        """Run ``git args``; stdout on success, ``_GitError`` (scrubbed) otherwise."""
        log.debug("git %s", self.scrub(" ".join(args)))
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise _GitError(f"no answer within {self.timeout:g}s", "unreachable") from None
        if proc.returncode == 0:
            return out.decode(errors="replace")
        detail = self.scrub(err.decode(errors="replace")).strip()
        if "host key verification failed" in detail.lower():
            raise _GitError(detail, "host-key")
        for kind, pattern in (("auth", _AUTH), ("no-object", _NO_OBJECT)):
            if pattern.search(detail):
                raise _GitError(detail, kind)
        if _NOT_FOUND.search(detail):
            raise _GitError(detail, "not-found")
        kind = "unreachable" if "unable to access" in detail or "ssh:" in detail else "other"
        raise _GitError(detail, kind)

    def ls_remote(self, *options: str) -> dict[str, str]:
        """``{ref name: sha}``; annotated tags map to the commit they point at."""
        refs: dict[str, str] = {}
        peeled: dict[str, str] = {}
        for line in self.run("ls-remote", *options, self.url).splitlines():
            sha, _, name = line.partition("\t")
            if name.endswith("^{}"):
                peeled[name[:-3]] = sha
            elif name:
                refs[name] = sha
        return refs | peeled


class _Tree:
    """``tenancy.SourceTree`` over one commit of the fetched bare repository (GitPython)."""

    def __init__(self, repo: git.Repo, commit: str) -> None:
        self.root = repo.commit(commit).tree

    def _get(self, path: str) -> object:
        try:
            return self.root if path in ("", ".") else self.root / path
        except KeyError:
            return None

    def kind(self, path: str) -> Literal["dir", "file"] | None:
        found = self._get(path)
        return "dir" if isinstance(found, git.Tree) else "file" if found is not None else None

    def children(self, path: str) -> list[str]:
        found = self._get(path)
        return [str(item.name) for item in found] if isinstance(found, git.Tree) else []

    def read(self, path: str) -> str:
        found = self._get(path)
        data: bytes = found.data_stream.read() if isinstance(found, git.Blob) else b""
        return data.decode("utf-8", errors="replace")


class SourceChecker:
    """One run of source checks; caches per (url, ref) and cleans up on ``close``."""

    def __init__(
        self,
        *,
        offline: bool = False,
        strict: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        cluster_scoped: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.cluster_scoped = frozenset(cluster_scoped)
        """Cluster-scoped (group, kind) the target cluster serves (its CRDs), for the lint."""
        self.offline = offline
        self.strict = strict
        self.timeout = timeout
        self._workdir = Path(tempfile.mkdtemp(prefix="fluxgitops-sourcecheck-"))
        self._resolved: dict[tuple[str, str], _Resolved] = {}
        self._fetched: dict[tuple[str, str], tuple[Path, str]] = {}

    def close(self) -> None:
        """Remove every fetched repository and temporary file."""
        shutil.rmtree(self._workdir, ignore_errors=True)
        self._resolved.clear()
        self._fetched.clear()

    def __enter__(self) -> SourceChecker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def check(
        self,
        spec: FluxConfigurationSpec,
        extension: FluxExtensionSpec | None = None,
        *,
        raise_on_error: bool = True,
    ) -> SourceReport:
        """Check ``spec``'s source; ``SourceCheckError`` lists every error unless told not to."""
        source = spec.git_repository
        if source is None:
            skipped = f"source checks cover gitRepository only; {spec.source_kind} not checked"
            return SourceReport(spec.name, "", "", warnings=(skipped,))
        url = split_url(source.url)[0]
        ref = describe_ref(source.repository_ref)
        if self.offline:
            return SourceReport(spec.name, url, ref, warnings=("offline: source not checked",))
        runner = _Git(source, self._workdir, self.timeout)
        try:
            report = self._check(spec, source, runner, extension or FluxExtensionSpec())
        except _GitError as exc:
            report = self._failed(spec, source, runner, ref, exc)
        finally:
            runner.cleanup()
        log.info("source check: %s", report.summary())
        if report.errors and raise_on_error:
            subject = f"source of configuration {spec.name!r} ({url}, {ref})"
            raise SourceCheckError(subject, list(report.errors), report)
        return report

    def _failed(
        self,
        spec: FluxConfigurationSpec,
        source: GitRepositorySource,
        runner: _Git,
        ref: str,
        exc: _GitError,
    ) -> SourceReport:
        url = runner.url
        if exc.kind in ("unreachable", "other"):
            message = f"{url} is unreachable ({exc.detail}); ref and paths not checked"
            if self.strict:
                raise SourceUnavailableError(f"source of {spec.name!r}: {message}") from None
            return SourceReport(spec.name, url, ref, warnings=(message,))
        if exc.kind == "not-found":
            error = FieldError("gitRepository.url", f"no Git repository at {url} ({exc.detail})")
            return SourceReport(spec.name, url, ref, errors=(error,))
        if exc.kind == "host-key":
            known = "is not in sshKnownHosts" if source.ssh_known_hosts else "is not known"
            error = FieldError("gitRepository.sshKnownHosts", f"the host key of {url} {known}")
            return SourceReport(spec.name, url, ref, errors=(error,))
        if source.local_auth_ref or source.generates_ssh_key or source.provider != "generic":
            message = f"{url} needs credentials held in the cluster; ref and paths not checked"
            return SourceReport(spec.name, url, ref, warnings=(message,))
        field_name = "sshPrivateKey" if source.is_ssh else "httpsKey"
        what = "were rejected by" if runner.has_credentials else "are required by"
        error = FieldError(f"gitRepository.{field_name}", f"credentials {what} {url}")
        return SourceReport(spec.name, url, ref, errors=(error,))

    def _resolve(self, runner: _Git, ref: RepositoryRef) -> _Resolved | FieldError:
        key = (runner.fingerprint, describe_ref(ref))
        if key in self._resolved:
            return self._resolved[key]
        url = runner.url
        resolved: _Resolved | FieldError
        if ref.commit:
            resolved = _Resolved(describe_ref(ref), None, ref.commit)
        elif ref.branch:
            heads = runner.ls_remote("--heads")
            name = f"refs/heads/{ref.branch}"
            if name in heads:
                resolved = _Resolved(describe_ref(ref), heads[name], name)
            else:
                resolved = _missing("branch", ref.branch, url, [h[11:] for h in heads])
        else:
            tags = {n[10:]: sha for n, sha in runner.ls_remote("--tags").items()}
            if ref.tag:
                resolved = (
                    _Resolved(describe_ref(ref), tags[ref.tag], f"refs/tags/{ref.tag}")
                    if ref.tag in tags
                    else _missing("tag", ref.tag, url, list(tags))
                )
            else:
                assert ref.semver is not None
                best = parse_range(ref.semver).best(tags)
                resolved = (
                    _Resolved(
                        f"semver {ref.semver!r} → tag {best!r}", tags[best], f"refs/tags/{best}"
                    )
                    if best is not None
                    else FieldError(
                        "gitRepository.repositoryRef.semver",
                        f"no tag in {url} matches the range; tags there: {_some(tags)}",
                        repr(ref.semver),
                    )
                )
        if isinstance(resolved, _Resolved):
            self._resolved[key] = resolved
        return resolved

    def _fetch(self, runner: _Git, resolved: _Resolved) -> tuple[Path, str]:
        key = (runner.fingerprint, resolved.commit or resolved.fetch)
        if key not in self._fetched:
            target = Path(tempfile.mkdtemp(prefix="repo-", dir=self._workdir))
            runner.run("init", "--bare", "--quiet", str(target))
            fetch = ("fetch", "--depth=1", "--no-tags", "--quiet", runner.url, resolved.fetch)
            runner.run(*fetch, cwd=target)
            commit = runner.run("rev-parse", "FETCH_HEAD^{commit}", cwd=target).strip()
            self._fetched[key] = (target, commit)
        return self._fetched[key]

    def _check(
        self,
        spec: FluxConfigurationSpec,
        source: GitRepositorySource,
        runner: _Git,
        extension: FluxExtensionSpec,
    ) -> SourceReport:
        url = runner.url
        resolved = self._resolve(runner, source.repository_ref)
        if isinstance(resolved, FieldError):
            return SourceReport(
                spec.name, url, describe_ref(source.repository_ref), errors=(resolved,)
            )
        try:
            repo_dir, commit = self._fetch(runner, resolved)
        except _GitError as exc:
            if exc.kind != "no-object":
                raise
            error = FieldError(
                "gitRepository.repositoryRef.commit",
                f"commit does not exist in {url}",
                repr(resolved.fetch),
            )
            return SourceReport(spec.name, url, resolved.description, errors=(error,))
        errors: list[FieldError] = []
        manifests: dict[tuple[str, int], FileManifest] = {}
        # file → the field path of the first Kustomization that reached it (through ../base too)
        owners: dict[str, str] = {}
        repo = git.Repo(repo_dir)
        repo.git.update_environment(GIT_DIR=str(repo_dir))  # ignore a GIT_DIR inherited from a hook
        try:
            tree = _Tree(repo, commit)
            collector = ManifestCollector(tree)
            for name in spec.kustomization_order():
                path = spec.kustomizations[name].path
                found = tree.kind(path)
                if found != "dir":
                    problem = "is a file, not a directory" if found else "does not exist"
                    errors.append(
                        FieldError(
                            f"kustomizations.{name}.path",
                            f"directory {path or '.'!r} {problem} at commit {commit} of {url}",
                            repr(path or "."),
                        )
                    )
                    continue
                owner = f"kustomizations.{name}.path"
                seen = len(collector.findings)
                for manifest in collector.directory(path, None):
                    manifests.setdefault((manifest.file, manifest.line), manifest)
                    owners.setdefault(manifest.file, owner)
                for finding in collector.findings[seen:]:
                    owners.setdefault(finding.file, owner)
        finally:
            repo.close()
        findings = collector.findings + check_manifests(
            manifests.values(),
            namespace=spec.namespace,
            multi_tenancy=extension.multi_tenancy.enforce,
            scope=spec.scope,
            flux_version=extension.flux_version,
            cluster_scoped=self.cluster_scoped,
        )
        for finding in sorted(findings):
            if finding.severity == "error":
                errors.append(FieldError(owners.get(finding.file, "kustomizations"), str(finding)))
        warnings = collector.warnings + [
            str(f) for f in sorted(findings) if f.severity == "warning"
        ]
        return SourceReport(
            spec.name,
            url,
            resolved.description,
            commit=commit,
            checked=True,
            paths=tuple(spec.kustomizations[n].path or "." for n in spec.kustomization_order()),
            manifests=len(manifests),
            findings=tuple(sorted(findings)),
            errors=tuple(errors),
            warnings=tuple(warnings),
        )


def _some(names: list[str] | dict[str, str], limit: int = 10) -> str:
    shown = sorted(names)[:limit]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return (", ".join(shown) + more) if shown else "none"


def _missing(kind: str, name: str, url: str, existing: list[str]) -> FieldError:
    close = difflib.get_close_matches(name, existing, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    plural = "branches" if kind == "branch" else "tags"
    return FieldError(
        f"gitRepository.repositoryRef.{kind}",
        f"{kind} {name!r} does not exist in {url}{hint} ({plural} there: {_some(existing)})",
        repr(name),
    )


def check_source(
    spec: FluxConfigurationSpec,
    extension: FluxExtensionSpec | None = None,
    *,
    offline: bool = False,
    strict: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    checker: SourceChecker | None = None,
    cluster_scoped: Iterable[tuple[str, str]] = (),
) -> SourceReport:
    """Check one configuration's source (a one-off run unless ``checker`` is given).

    Returns the report (resolved commit, findings, warnings); raises
    ``SourceCheckError`` listing every error, or ``SourceUnavailableError``
    when ``strict`` and the source cannot be reached.
    """
    if checker is not None:
        return checker.check(spec, extension)
    with SourceChecker(
        offline=offline, strict=strict, timeout=timeout, cluster_scoped=cluster_scoped
    ) as one_off:
        return one_off.check(spec, extension)
