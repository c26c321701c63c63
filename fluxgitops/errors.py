"""The one error hierarchy of fluxgitops; every layer raises from here.

Callers decide what happens next from the class alone: a ``PermanentError`` will
fail again until someone changes the input (the provider turns it into a check
failure, the reconciler marks the FluxConfig ``Stalled``); a ``TemporaryError``
may pass on retry (the reconciler requeues with backoff, the CLI suggests a
re-run). Third-party exceptions are translated at the I/O boundary with
``raise ... from exc``; a ``SpecError`` is raised ``from None`` because the
pydantic error it replaces can quote secret input.

::

    FluxGitOpsError
    ├── PermanentError                  fix the input, then try again
    │   ├── SpecError                   spec invalid; .errors lists every FieldError
    │   │   ├── BackendUnsupportedError valid spec the chosen backend cannot express
    │   │   └── SourceCheckError        valid spec its Git source does not satisfy (.report)
    │   ├── RenderError                 renderer cannot build an object (a bug: two share a key)
    │   ├── ToolchainError              a third-party program is missing or failed to build
    │   ├── YamlError                   a YAML file is invalid or repeats a key (file:line)
    │   ├── ManifestError               a file in the Git source is not valid YAML (file:line)
    │   ├── ApplyConflictError          another field manager owns fields we set (force takes)
    │   ├── OwnershipConflictError      an object we would write belongs to someone else
    │   ├── ReconciliationError         Flux reports the configuration Non-Compliant (fix the repo)
    │   ├── FluxV1InstalledError        Flux v1 is on the cluster: migrate before installing v2
    │   └── ClusterRejectedError        the API server refused an object (422, 403, …)
    │       ├── ObjectTooLargeError     … because it is too large (413, etcd's 1.5 MiB limit)
    │       ├── AlreadyExistsError      … because a create found it there (409 AlreadyExists)
    │       └── NotFoundError           the object is absent (404): readers return None
    │           └── KindNotServedError  the API server does not serve the kind (CRD missing)
    └── TemporaryError                  retry with backoff; .retry_after: the server's delay
        ├── ClusterUnavailableError     API server unreachable, timed out or throttling (429, 5xx)
        ├── StaleObjectError            changed since read (409 Conflict) or list expired (410)
        ├── SourceUnavailableError      a Git source could not be reached in time (strict checks)
        ├── DeletionTimeoutError        objects still held by finalizers after the timeout
        ├── LeaseLostError              a reconciler replica no longer leads: write refused
        └── ReconciliationTimeoutError  not Compliant within reconciliationWaitDuration

Kubernetes API errors are mapped once, by ``fluxgitops.kube.boundary``.

Messages name the object, what failed, the bad value (``!r``, secrets masked)
and what happens next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the report type only; sourcecheck imports this module
    from fluxgitops.sourcecheck import SourceReport

SECRET_MASK = "[secret]"


@dataclass(frozen=True, order=True)
class FieldError:
    """One validation failure: where (dotted field path), why, and the bad value.

    ``value`` is already rendered for humans (``repr`` of the input, or
    ``SECRET_MASK`` for secret fields); it is never the raw secret.
    """

    path: str
    message: str
    value: str = ""
    code: str = "invalid"

    def __str__(self) -> str:
        shown = f" (got {self.value})" if self.value else ""
        where = self.path or "<root>"
        return f"{where}: {self.message}{shown}"


class FluxGitOpsError(Exception):
    """Base of every error fluxgitops raises on purpose."""


class PermanentError(FluxGitOpsError):
    """Retrying will not help: the input or the environment must change first."""


class TemporaryError(FluxGitOpsError):
    """The operation may succeed if retried later (with backoff).

    ``retry_after`` is the delay the server asked for (``Retry-After``, seconds),
    None when it named none and the caller's backoff decides.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SpecError(PermanentError):
    """A spec failed validation; ``errors`` holds every failure, sorted by path."""

    def __init__(self, subject: str, errors: Iterable[FieldError]) -> None:
        self.subject = subject
        self.errors: Sequence[FieldError] = tuple(sorted(set(errors)))
        count = len(self.errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        noun = "error" if count == 1 else "errors"
        super().__init__(
            f"{subject} is invalid ({count} {noun}); nothing was applied, fix the spec and retry:\n"
            f"{lines}"
        )

    @property
    def paths(self) -> list[str]:
        """The field paths that failed, in order (handy for tests and check failures)."""
        return [e.path for e in self.errors]


class BackendUnsupportedError(SpecError):
    """The spec is valid but the chosen backend (for example Azure ARM) cannot express it."""


class SourceCheckError(SpecError):
    """The spec is valid but its source does not satisfy it (ref, path, auth or manifests).

    ``report`` holds everything the check found, warnings included.
    """

    def __init__(self, subject: str, errors: list[FieldError], report: SourceReport) -> None:
        super().__init__(subject, errors)
        self.report = report


class RenderError(PermanentError):
    """The renderer was asked for something it cannot produce (two objects share a key)."""


class YamlError(PermanentError):
    """A YAML text cannot be read as written: syntax error or a repeated mapping key."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        self.file = file
        self.line = line
        self.problem = problem
        super().__init__(f"{file}:{line}: {problem}; nothing was read from it, fix it and retry")


class ManifestError(PermanentError):
    """A file in the source is not valid YAML; names the file and line."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        self.file = file
        self.line = line
        self.problem = problem
        super().__init__(f"{file}:{line}: not valid YAML: {problem}")


class ToolchainError(PermanentError):
    """A third-party program (kube-apiserver, etcd, pulumi, a controller) is missing or broken."""


class ApplyConflictError(PermanentError):
    """Server-side apply found fields owned by another manager; ``conflicts`` names them."""

    def __init__(self, subject: str, conflicts: Sequence[tuple[str, str]]) -> None:
        self.conflicts = tuple(conflicts)
        listed = "; ".join(f"{field} (owned by {manager})" for field, manager in self.conflicts)
        super().__init__(
            f"{subject}: apply conflicts with other field managers: {listed}; nothing was "
            f"forced — set forceConflicts: true to take ownership, or remove the other writer"
        )


class OwnershipConflictError(PermanentError):
    """Objects we would apply exist but are not ours (other labels or another field manager).

    ``conflicts`` pairs each object (``str`` of its key) with who owns it; nothing
    of them was written, and nothing of them will be deleted by us.
    """

    def __init__(self, subject: str, conflicts: Sequence[tuple[str, str]]) -> None:
        self.conflicts = tuple(conflicts)
        listed = "; ".join(f"{obj} (owned by {owner})" for obj, owner in self.conflicts)
        super().__init__(
            f"{subject}: objects it renders already exist and are not ours: {listed}; nothing "
            f"was applied — rename the configuration or its Kustomizations, or delete or "
            f"relabel the other objects; retried periodically"
        )


class FluxV1InstalledError(PermanentError):
    """Flux v1 (CRDs, the flux daemon, or Azure sourceControlConfigurations) is on a cluster
    that would get Flux v2; the message is the migration plan (``fluxgitops.migrate``)."""


class ClusterRejectedError(PermanentError):
    """The API server rejected an object (validation, admission or authorization)."""


class ObjectTooLargeError(ClusterRejectedError):
    """The API server or etcd refused an object for its size: it will never fit as it is."""


class AlreadyExistsError(ClusterRejectedError):
    """A create found the object already there (409 AlreadyExists)."""


class NotFoundError(ClusterRejectedError):
    """The object is absent (404); readers turn it into None, writers report it."""


class KindNotServedError(NotFoundError):
    """The API server does not serve the kind at all: its CRD is not installed."""


class ReconciliationError(PermanentError):
    """Flux reports the configuration Non-Compliant; the message is the failing object's own."""


class ReconciliationTimeoutError(TemporaryError):
    """The configuration was not Compliant within ``reconciliationWaitDuration``."""


class DeletionTimeoutError(TemporaryError):
    """Deleted objects are still present (finalizers) after the timeout."""


class ClusterUnavailableError(TemporaryError):
    """The Kubernetes API could not be reached or asked us to slow down; retry later."""


class StaleObjectError(TemporaryError):
    """The object changed since it was read (409 Conflict) or a list expired (410 Gone)."""


class SourceUnavailableError(TemporaryError):
    """The source could not be reached in time (raised only for strict checks)."""


class LeaseLostError(TemporaryError):
    """A reconciler replica was about to write without holding the Lease (or in an old term)."""
