"""Run the fluxgitops program with the Pulumi CLI through the Automation API (inline program).

``run_stack`` previews, updates, refreshes or destroys a stack whose config is
``stacks/Pulumi.<stack>.yaml``, with the program ``components.program.main``
running in this process (the Automation API's in-process language server), so
only the ``pulumi`` CLI and the dynamic-provider shim are needed — both built
by ``tools/build.py``. State goes to a local file backend
(``$FLUXGITOPS_STATE_DIR``, default ``~/.cache/fluxgitops/state``); the
stack file is copied into a private work directory so the repository is never
modified. After ``up``, every configuration with ``waitForReconciliation`` is
waited for (``fluxgitops.kube.deployed.wait_for_stack``): a new commit or a hand
edit changes nothing Pulumi diffs, yet ``up`` must not report success while Flux
reports the configuration Non-Compliant. ``stack_readers`` reads each
configuration of a stack live (``fluxgitops status``). Called by
``fluxgitops_cli`` and the end-to-end tests.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from lightkube import Client
from pulumi import automation as auto

from components.flux_configuration import reconciliation_name
from components.program import configuration_name, main
from fluxgitops.errors import ToolchainError
from fluxgitops.kube.client import connect
from fluxgitops.kube.deployed import (
    DEFAULT_WAIT,
    LiveConfiguration,
    read_configuration,
    wait_for_compliance,
)
from fluxgitops.local.toolchain import REPO_ROOT, tool_path
from fluxgitops.localrefs import local_dir, resolve_kubeconfig, stack_placeholders
from fluxgitops.spec import FluxConfigurationSpec
from fluxgitops.spec.fleet import FLEETS_KEY
from fluxgitops.stack import CONFIG_KEY, Cluster, StackConfig, parse_stack

Action = Literal["preview", "up", "refresh", "destroy"]
LOCAL_PASSPHRASE = "fluxgitops-local"  # only for the throwaway 'local' stack


@dataclass(frozen=True)
class StackRun:
    """What a run did: the change summary (operation → count) and the stack outputs."""

    action: Action
    changes: dict[str, int]
    outputs: dict[str, object]
    stdout: str


def state_dir() -> Path:
    """The file backend directory."""
    default = Path.home() / ".cache" / "fluxgitops" / "state"
    return Path(os.environ.get("FLUXGITOPS_STATE_DIR", default))


def _environment(stack: str) -> dict[str, str]:
    pulumi_dir = tool_path("pulumi").parent
    path = os.pathsep.join(
        [str(Path(sys.executable).parent), str(pulumi_dir), os.environ.get("PATH", "")]
    )
    env = {
        "PATH": path,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_RUNTIME_VIRTUALENV": str(Path(sys.executable).parent.parent),
        "PULUMI_HOME": str(state_dir().parent / "pulumi-home"),
    }
    passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE")
    if passphrase is None and stack != "local":
        raise ToolchainError(
            f"stack {stack!r} needs PULUMI_CONFIG_PASSPHRASE (its secrets are encrypted with it); "
            "export it and retry"
        )
    env["PULUMI_CONFIG_PASSPHRASE"] = passphrase if passphrase is not None else LOCAL_PASSPHRASE
    return env


def _workspace(stack: str, stacks_dir: Path) -> Path:
    source = stacks_dir / f"Pulumi.{stack}.yaml"
    if not source.is_file():
        raise ToolchainError(f"no stack file {str(source)!r}; stacks are stacks/Pulumi.<name>.yaml")
    work = state_dir().parent / "work" / stack
    work.mkdir(parents=True, exist_ok=True)
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    project.pop("stackConfigDir", None)
    (work / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    target = work / f"Pulumi.{stack}.yaml"
    salt = (
        (yaml.safe_load(target.read_text()) or {}).get("encryptionsalt")
        if target.exists()
        else None
    )
    config = yaml.safe_load(source.read_text()) or {}
    if salt and "encryptionsalt" not in config:
        config["encryptionsalt"] = salt  # keep the salt pulumi generated for this stack
    target.write_text(yaml.safe_dump(config))
    return work


def stack_config(stack: str, stacks_dir: Path | None = None) -> StackConfig:
    """The parsed ``Pulumi.<stack>.yaml`` (placeholders resolved) as the program sees it."""
    path = (stacks_dir or REPO_ROOT / "stacks") / f"Pulumi.{stack}.yaml"
    raw = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
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


def run_stack(
    action: Action,
    stack: str = "local",
    *,
    stacks_dir: Path | None = None,
    secret_config: Mapping[str, str] | None = None,
    on_output: Callable[[str], None] | None = None,
    wait: bool = True,
) -> StackRun:
    """Run ``action`` on ``stack`` with the built ``pulumi`` CLI and a file backend.

    ``secret_config`` sets config paths as Pulumi secrets for this run (for
    example ``fluxgitops:clusters[0].configurations[0].gitRepository.httpsKey``
    from a CI secret); secure values already in the stack file work as usual.
    With ``wait`` an ``up`` ends only when every configuration with
    ``waitForReconciliation`` is Compliant; ``ReconciliationError`` (Non-Compliant,
    with the Flux object's message) or ``ReconciliationTimeoutError`` otherwise.
    """
    if shutil.which("pulumi", path=str(tool_path("pulumi").parent)) is None:
        raise ToolchainError("the pulumi CLI is not built; run `python3 tools/build.py pulumi`")
    state_dir().mkdir(parents=True, exist_ok=True)
    environment = _environment(stack)
    # the Automation API starts `pulumi` from this process's PATH
    os.environ["PATH"] = environment["PATH"]
    work = _workspace(stack, stacks_dir or REPO_ROOT / "stacks")
    project = yaml.safe_load((work / "Pulumi.yaml").read_text())["name"]
    options = auto.LocalWorkspaceOptions(
        work_dir=str(work),
        env_vars=environment,
        project_settings=auto.ProjectSettings(
            name=project, runtime="python", backend=auto.ProjectBackend(url=state_dir().as_uri())
        ),
    )
    parsed: list[StackConfig] = []

    def program() -> None:
        parsed.append(main())

    handle = auto.create_or_select_stack(stack, project_name=project, program=program, opts=options)
    for key, value in (secret_config or {}).items():
        handle.set_config(key, auto.ConfigValue(value=value, secret=True), path=True)
    lines: list[str] = []

    def collect(line: str) -> None:
        lines.append(line)
        if on_output is not None:
            on_output(line)

    outputs: dict[str, object] = {}
    if action == "preview":
        result = handle.preview(on_output=collect, diff=True)
        changes = dict(result.change_summary)
    elif action == "up":
        applied: set[str] = set()

        def record(event: auto.EngineEvent) -> None:
            done = event.res_outputs_event
            if done is not None and done.metadata.op in APPLYING_OPS:
                applied.add(done.metadata.urn.rsplit("::", 1)[-1])

        up = handle.up(on_output=collect, on_event=record)
        changes = dict(up.summary.resource_changes or {})
        outputs = {k: v.value for k, v in up.outputs.items()}
        if wait:
            config = parsed[-1] if parsed else _program_config(handle, stack)
            wait_for_stack(config, progress=collect, waited=frozenset(applied))
    elif action == "refresh":
        refreshed = handle.refresh(on_output=collect)
        changes = dict(refreshed.summary.resource_changes or {})
    else:
        destroyed = handle.destroy(on_output=collect)
        changes = dict(destroyed.summary.resource_changes or {})
    return StackRun(action, {str(k): int(v) for k, v in changes.items()}, outputs, "\n".join(lines))
