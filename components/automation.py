"""Run the fluxgitops program with the Pulumi CLI through the Automation API (inline program).

``run_stack`` previews, updates, refreshes or destroys a stack whose config is
a stack file (``-s NAME|PATH`` resolved by the CLI), with the program
``components.program.main`` running in this process (the Automation API's
in-process language server), so only the ``pulumi`` CLI and the dynamic-provider
shim are needed — both built by ``tools/build.py``; where and how the CLI runs (file
backend, environment, work directory, state written once on kubernetes-only stacks)
is ``components.workspace``. Before Pulumi starts, ``probe_clusters`` fails in one
line on an unreachable cluster (nothing left pending); a failed run raises
``PulumiRunError`` with ``failure_cause`` (incorrect passphrase explained, no
traceback) after ``clear_pending``. After ``up``, every configuration with
``waitForReconciliation`` is waited for (``fluxgitops.kube.deployed.wait_for_stack``):
a new commit or a hand edit changes nothing Pulumi diffs, yet ``up`` must not
report success while Flux reports the configuration Non-Compliant.
``stack_readers`` reads each configuration of a stack live (``fluxgitops status``);
``recorded_configurations`` lists the configurations Pulumi's state holds
(``fluxgitops plan`` shows the removed ones). Called by ``fluxgitops_cli`` and the
end-to-end tests.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from itertools import takewhile
from pathlib import Path
from typing import Literal

import yaml
from lightkube import Client
from lightkube.resources.core_v1 import Namespace
from pulumi import automation as auto
from pulumi.automation.errors import CommandError

from components.flux_configuration import reconciliation_name
from components.program import configuration_name, main
from components.workspace import (
    checkpoint_environment,
    checkpoint_path,
    open_stack,
    pulumi_environment,
    state_dir,
    work_directory,
)
from fluxgitops.errors import (
    ClusterUnavailableError,
    FluxGitOpsError,
    PulumiRunError,
    StackNotFoundError,
    ToolchainError,
)
from fluxgitops.kube.boundary import api_errors
from fluxgitops.kube.client import connect
from fluxgitops.kube.deployed import (
    DEFAULT_WAIT,
    LiveConfiguration,
    read_configuration,
    wait_for_compliance,
)
from fluxgitops.local.toolchain import tool_path
from fluxgitops.localrefs import local_dir, resolve_kubeconfig, stack_placeholders
from fluxgitops.spec import FluxConfigurationSpec
from fluxgitops.spec.fleet import FLEETS_KEY
from fluxgitops.stack import CONFIG_KEY, Cluster, StackConfig, parse_stack
from fluxgitops.yamltext import safe_load
from providers.objectset import OLD_DYNAMIC_TYPE, TYPE_MODULE

Action = Literal["preview", "up", "refresh", "destroy"]


@dataclass(frozen=True)
class StackRun:
    """What a run did: the change summary (operation → count) and the stack outputs."""

    action: Action
    changes: dict[str, int]
    outputs: dict[str, object]
    stdout: str


def stack_config(stack: str, stacks_dir: Path) -> StackConfig:
    """The parsed ``<stacks_dir>/Pulumi.<stack>.yaml`` (placeholders resolved) as the program
    sees it."""
    return read_stack_file(stacks_dir / f"Pulumi.{stack}.yaml", stack)


def read_stack_file(path: Path, stack: str) -> StackConfig:
    """A stack file parsed as the program sees it (placeholders resolved)."""
    raw = (safe_load(path.read_text()) or {}).get("config") or {}
    return parse_stack(
        raw, subject=f"stack {stack!r}", placeholders=stack_placeholders(local_dir())
    )


def _program_config(handle: auto.Stack, stack: str) -> StackConfig:
    """The stack config exactly as the program saw it: secure values and ``--secret`` config
    of this run decrypted by the workspace (a stack file alone lacks them)."""
    values = handle.get_all_config()
    raw = values[CONFIG_KEY].value if CONFIG_KEY in values else None
    fleets = values[FLEETS_KEY].value if FLEETS_KEY in values else None
    return parse_stack(
        {
            CONFIG_KEY: json.loads(raw) if raw else None,
            FLEETS_KEY: json.loads(fleets) if fleets else None,
        },
        subject=f"stack {stack!r}",
        placeholders=stack_placeholders(local_dir()),
    )


DYNAMIC_TYPES = (f"pulumi-python:dynamic/{TYPE_MODULE}:FluxConfiguration", OLD_DYNAMIC_TYPE)
"""The configuration resource's type, and the one stacks made before it had its own."""


def recorded_configurations(
    stack: str, project: str = "fluxgitops"
) -> dict[str, set[tuple[str, str]]] | None:
    """The configurations Pulumi's state for ``stack`` holds, per cluster name (None: the
    stack has no state yet). Read from the file backend's checkpoint (plain JSON; only
    ``spec`` names are read, never secrets): each configuration's dynamic resource is named
    ``<cluster>-<namespace>-<name>-objects`` (``components.program``)."""
    path = checkpoint_path(stack, project)
    if path is None:
        return None
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    resources = (json.loads(raw).get("checkpoint", {}).get("latest") or {}).get("resources") or []
    found: dict[str, set[tuple[str, str]]] = {}
    for resource in resources:
        spec = (resource.get("inputs") or {}).get("spec")
        urn = str(resource.get("urn", ""))
        if resource.get("type") not in DYNAMIC_TYPES or not isinstance(spec, dict):
            continue
        namespace, name = spec.get("namespace", "default"), spec.get("name")
        suffix = f"-{namespace}-{name}-objects"
        label = urn.rsplit("::", 1)[-1]
        if isinstance(name, str) and label.endswith(suffix):
            found.setdefault(label.removesuffix(suffix), set()).add((namespace, name))
    return found


APPLYING_OPS = frozenset({auto.OpType.CREATE, auto.OpType.UPDATE, auto.OpType.CREATE_REPLACEMENT})
"""Steps after which a resource ran its create/update (a wait ran to Compliant)."""

Reader = tuple[Cluster, FluxConfigurationSpec, Callable[[], LiveConfiguration]]


def stack_readers(config: StackConfig) -> list[Reader]:
    """For every configuration of every kubernetes-backend cluster: a function reading it live."""
    found: list[Reader] = []
    for cluster in config.clusters:
        if cluster.backend != "kubernetes":
            continue
        client = connect(resolve_kubeconfig(cluster.kubeconfig), cluster.context)
        for spec in cluster.configurations:

            def read(
                spec: FluxConfigurationSpec = spec,
                cluster: Cluster = cluster,
                client: Client = client,
            ) -> LiveConfiguration:
                return read_configuration(
                    client,
                    spec,
                    multi_tenancy=cluster.extension.multi_tenancy.enforce,
                    reconciler=cluster.extension.reconciler.enabled,
                )

            found.append((cluster, spec, read))
    return found


def wait_for_stack(
    config: StackConfig,
    progress: Callable[[str], None] | None = None,
    waited: frozenset[str] = frozenset(),
) -> None:
    """Wait for every configuration with ``waitForReconciliation`` (see ``wait_for_compliance``);
    run after ``pulumi up``, since a new commit or a hand edit changes nothing Pulumi diffs.
    ``waited``: names of the ``ReconciliationResource``s that this ``up`` created or updated
    (they ended Compliant), not read again."""
    for cluster, spec, read in stack_readers(config):
        name = reconciliation_name(configuration_name(cluster, spec))
        if spec.wait_for_reconciliation and name not in waited:
            wait_for_compliance(
                read,
                timeout=(spec.reconciliation_wait_duration or DEFAULT_WAIT).total_seconds(),
                subject=f"{cluster.name}: FluxConfiguration {spec.namespace}/{spec.name}",
                progress=progress,
            )


def probe_clusters(stack_file: Path, stack: str) -> None:
    """Fail in one line, before Pulumi runs, when a kubernetes cluster of the stack cannot be
    reached: nothing is started, so nothing is left pending in the state. Reads only each
    cluster's name, backend, kubeconfig and context (validation is the program's job)."""
    raw = safe_load(stack_file.read_text()) or {}
    clusters = ((raw.get("config") or {}) if isinstance(raw, dict) else {}).get(CONFIG_KEY)
    for cluster in clusters if isinstance(clusters, list) else []:
        if not isinstance(cluster, dict) or cluster.get("backend", "kubernetes") != "kubernetes":
            continue
        name, context = cluster.get("name"), cluster.get("context")
        kubeconfig = resolve_kubeconfig(cluster.get("kubeconfig"))
        hint = (
            "start it with `fluxgitops local up`"
            if cluster.get("kubeconfig") == "local"
            else "check the cluster and its kubeconfig/context"
        )
        try:
            client = connect(kubeconfig, context, timeout=10.0)
            with api_errors(f"cluster {name!r}"):
                client.get(Namespace, "default")
        except ClusterUnavailableError as exc:
            where = f" ({kubeconfig})" if kubeconfig else ""
            raise ClusterUnavailableError(
                f"stack {stack!r}: cluster {name!r}{where} is not reachable "
                f"({type(exc).__name__}); {hint}, then retry — nothing was run"
            ) from exc
        except FluxGitOpsError:
            continue  # it answered (a refusal is for the run to report)


GENERIC_ERRORS = ("update failed", "preview failed", "refresh failed", "destroy failed")
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w.]*\.)?(\w*(?:Error|Exception)): (.+)$")


def failure_cause(text: str, stack: str, stack_file: Path) -> str:
    """The one-line reason of a failed Pulumi run, found in its output (no traceback)."""
    if "incorrect passphrase" in text:
        return (
            f"stack {stack!r}: incorrect passphrase — PULUMI_CONFIG_PASSPHRASE is not the one "
            f"the stack's secrets were encrypted with (the encryptionsalt in {str(stack_file)!r} "
            "comes from the `pulumi stack init` that created it); export that passphrase and "
            "retry, or for a throwaway stack remove the encryptionsalt line and run "
            f"`fluxgitops pulumi -s {stack} -- stack rm --force --yes {stack}`"
        )
    causes: list[str] = []
    lines = [raw.strip() for raw in text.splitlines()]
    for i, line in enumerate(lines):
        match = _EXCEPTION_LINE.match(line)
        if match and match.group(1) not in ("CommandError",):
            cause = match.group(2)
        elif line.startswith("error:"):
            cause = line.removeprefix("error:").strip()
        else:
            continue
        if cause.endswith(":"):  # a SpecError: its field errors follow, one per line
            listed = list(takewhile(lambda item: item.startswith("- "), lines[i + 1 :]))
            cause += " " + "; ".join(item.removeprefix("- ") for item in listed[:10])
        if cause and cause not in GENERIC_ERRORS and cause not in causes:
            causes.append(cause)
    if not causes:
        return f"stack {stack!r}: pulumi failed without an error line; run with --verbose"
    return f"stack {stack!r}: " + "; ".join(causes[-3:])


def clear_pending(handle: auto.Stack) -> int:
    """Drop the pending operations a failed run left in the state (operations that never
    completed); returns how many. Pulumi would otherwise refuse or warn on every later run."""
    try:
        exported = handle.export_stack()
    except CommandError:
        return 0
    deployment = dict(exported.deployment or {})
    pending = deployment.get("pending_operations") or []
    if not pending:
        return 0
    deployment["pending_operations"] = []
    handle.import_stack(auto.Deployment(version=exported.version, deployment=deployment))
    return len(pending)


def run_stack(
    action: Action,
    stack: str = "local",
    *,
    stacks_dir: Path | None = None,
    stack_file: Path | None = None,
    project_file: Path | None = None,
    secret_config: Mapping[str, str] | None = None,
    on_output: Callable[[str], None] | None = None,
    wait: bool = True,
    color: Literal["always", "never"] = "never",
) -> StackRun:
    """Run ``action`` on ``stack`` with the built ``pulumi`` CLI and a file backend.

    The stack file is ``stack_file`` (the CLI's ``-s NAME|PATH``, resolved by
    ``fluxgitops_cli.stackref``), or ``Pulumi.<stack>.yaml`` in ``stacks_dir``; one of
    them is required (nothing ties a run to a source checkout); ``project_file`` is the project's
    ``Pulumi.yaml`` (its name and runtime; defaults outside a project).
    ``secret_config`` sets config paths as Pulumi secrets for this run (for
    example ``fluxgitops:clusters[0].configurations[0].gitRepository.httpsKey``
    from a CI secret); secure values already in the stack file work as usual.
    Unreachable clusters fail first (``ClusterUnavailableError``, one line); a failed
    run raises ``PulumiRunError`` with the cause from Pulumi's output, after clearing
    the pending operations it left. With ``wait`` an ``up`` ends only when every
    configuration with ``waitForReconciliation`` is Compliant; ``ReconciliationError``
    (Non-Compliant, with the Flux object's message) or ``ReconciliationTimeoutError``
    otherwise.
    """
    if shutil.which("pulumi", path=str(tool_path("pulumi").parent)) is None:
        raise ToolchainError("the pulumi CLI is not built; run `python3 tools/build.py pulumi`")
    if stack_file is not None:
        source = stack_file
    elif stacks_dir is not None:
        source = stacks_dir / f"Pulumi.{stack}.yaml"
    else:
        raise StackNotFoundError(f"stack {stack!r}: no stack file given; nothing was run")
    if not source.is_file():
        raise StackNotFoundError(f"stack {stack!r}: no stack file {str(source)!r}; nothing was run")
    environment = pulumi_environment(stack) | checkpoint_environment(source)
    probe_clusters(source, stack)
    state_dir().mkdir(parents=True, exist_ok=True)
    # the Automation API starts `pulumi` from this process's PATH
    os.environ["PATH"] = environment["PATH"]
    work = work_directory(stack, source, project_file)
    project = str(yaml.safe_load((work / "Pulumi.yaml").read_text())["name"])
    parsed: list[StackConfig] = []

    def program() -> None:
        parsed.append(main())

    lines: list[str] = []

    def collect(line: str) -> None:
        lines.append(line)
        if on_output is not None:
            on_output(line)

    handle: auto.Stack | None = None
    try:
        handle = open_stack(stack, project, work, program, environment)
        for key, value in (secret_config or {}).items():
            handle.set_config(key, auto.ConfigValue(value=value, secret=True), path=True)
        run = _act(handle, action, stack, collect, parsed, wait=wait, color=color)
        return replace(run, stdout="\n".join(lines))
    except CommandError as exc:
        cleared = clear_pending(handle) if handle is not None else 0
        cause = failure_cause("\n".join([*lines, str(exc)]), stack, source)
        if cleared:
            cause += f" ({cleared} pending operation(s) it left in the state were cleared)"
        raise PulumiRunError(cause) from None


def _act(
    handle: auto.Stack,
    action: Action,
    stack: str,
    collect: Callable[[str], None],
    parsed: list[StackConfig],
    *,
    wait: bool,
    color: Literal["always", "never"],
) -> StackRun:
    outputs: dict[str, object] = {}
    if action == "preview":
        result = handle.preview(on_output=collect, diff=True, color=color)
        changes = dict(result.change_summary)
    elif action == "up":
        applied: set[str] = set()

        def record(event: auto.EngineEvent) -> None:
            done = event.res_outputs_event
            if done is not None and done.metadata.op in APPLYING_OPS:
                applied.add(done.metadata.urn.rsplit("::", 1)[-1])

        up = handle.up(on_output=collect, on_event=record, color=color)
        changes = dict(up.summary.resource_changes or {})
        outputs = {k: v.value for k, v in up.outputs.items()}
        if wait:
            config = parsed[-1] if parsed else _program_config(handle, stack)
            wait_for_stack(config, progress=collect, waited=frozenset(applied))
    elif action == "refresh":
        refreshed = handle.refresh(on_output=collect, color=color)
        changes = dict(refreshed.summary.resource_changes or {})
    else:
        destroyed = handle.destroy(on_output=collect, color=color)
        changes = dict(destroyed.summary.resource_changes or {})
    return StackRun(action, {str(k): int(v) for k, v in changes.items()}, outputs, "")
