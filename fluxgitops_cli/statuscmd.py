"""``fluxgitops status``: every configuration of a stack as it runs, like ``flux get``.

Per configuration a heading (cluster, namespace/name, compliance, synced commit,
the failing object's message) and a table of its Flux objects with the columns
``flux get`` shows — name, ready, message — that fits 80 columns: names are
never cut (the message wraps instead); ``-o wide`` adds the reason and who
applied each object. ``-o json|yaml`` prints Azure's deployed-object list
documents (``status_document``). ``--watch`` re-reads until every
configuration is Compliant (exit 0) or ``--timeout`` passes (exit 1, with the
last state). An unreachable cluster is one line naming it and what to do
(``fluxgitops local up`` for ``kubeconfig: local``). ``azure`` clusters are read
from ARM (``components.arm_read.read_arm``, replaceable as ``ARM_READER``) and
mapped by ``fluxgitops.armstatus`` into the same document, marked ``(ARM)``;
a configuration ARM could not give is ``Unreachable`` with the error in one
line (its heading; exit 1). Registered by ``fluxgitops_cli.app``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from components.arm_read import ArmRead, ArmRequest, arm_requests, read_arm
from components.automation import probe_clusters, read_stack_file, stack_readers
from fluxgitops.armstatus import READ_FROM_ARM, arm_status_document
from fluxgitops.errors import FluxGitOpsError
from fluxgitops.fluxconfig.vocabulary import READY
from fluxgitops.kube.deployed import LiveConfiguration
from fluxgitops.rollup import UNREACHABLE
from fluxgitops.stack import StackConfig
from fluxgitops.status import COMPLIANT, condition
from fluxgitops_cli.console import StackOption, fail, out, stack_ref

STYLES = {
    "Compliant": "green",
    "Non-Compliant": "red",
    "Pending": "yellow",
    UNREACHABLE: "red",
}
WATCH_INTERVAL = 2.0

ARM_READER: Callable[[Sequence[ArmRequest]], list[ArmRead]] = read_arm
"""How ``azure`` clusters are read (tests put a function returning test bodies here)."""


class StatusFormat(StrEnum):
    """Output formats of ``status``."""

    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"


def status_document(cluster: str, live: LiveConfiguration, now: str) -> dict[str, Any]:
    """One configuration as ``status -o json`` prints it (Azure's deployed-object list)."""
    state = live.compliance()
    source = live.source or {}
    ready = condition(source, READY) or {}
    return {
        "cluster": cluster,
        "namespace": live.spec.namespace,
        "name": live.spec.name,
        "complianceState": state.state,
        "message": state.message,
        "source": {
            "kind": live.spec.source_kind,
            "name": live.spec.name,
            "url": str((source.get("spec") or {}).get("url", "")),
            "ready": str(ready.get("status", "")),
            "reason": str(ready.get("reason", "")),
            "message": str(ready.get("message", "")),
        },
        "sourceSyncedCommitId": live.commit,
        "statuses": live.statuses(now),
        "appliedObjects": {k: [str(a) for a in v] for k, v in sorted(live.applied.items())},
    }


def _ready(entry: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in entry["statusConditions"] if c["type"] == READY), {})


def print_status(doc: dict[str, Any], console: Console, wide: bool = False) -> None:
    """One configuration: its heading, then name / ready / message (wide: reason, applied by)."""
    state = doc["complianceState"]
    commit = doc["sourceSyncedCommitId"][:12] or "-"
    console.print(
        Text.assemble(
            (f"{doc['cluster']}: {doc['namespace']}/{doc['name']} ", "bold"),
            (state, STYLES.get(state, "")),
            f"  commit {commit}",
            f"  ({doc['readFrom']})" if doc.get("readFrom") else "",
            f"  {doc['message']}" if state != COMPLIANT or doc.get("stale") else "",
        )
    )
    if state == UNREACHABLE and not doc["statuses"]:
        return
    names = [f"{e['kind']}/{e['name']}" for e in doc["statuses"]]
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("NAME", no_wrap=True, min_width=max(map(len, names), default=4))
    table.add_column("READY", no_wrap=True)
    if wide:
        table.add_column("REASON", no_wrap=True)
    table.add_column("MESSAGE", overflow="fold", ratio=1)
    if wide:
        table.add_column("APPLIED BY", no_wrap=True)
    for name, entry in zip(names, doc["statuses"], strict=True):
        ready = _ready(entry)
        helm = entry.get("helmReleaseProperties")
        message = str(ready.get("message", ""))
        if helm:
            message += f" (revision {helm['lastRevisionApplied']})"
        cells: list[Any] = [
            name,
            Text(str(ready.get("status", "-")), STYLES.get(entry["complianceState"], "")),
        ]
        if wide:
            cells.append(str(ready.get("reason", "")))
        cells.append(message)
        if wide:
            by = entry.get("appliedBy")
            cells.append(f"Kustomization/{by['name']}" if by else "")
        table.add_row(*cells)
    console.print(table)
    if wide:
        for kustomization, objects in doc["appliedObjects"].items():
            console.print(
                f"  {kustomization} applied: {', '.join(objects) or '-'}", highlight=False
            )


def read_documents(stack: str) -> list[dict[str, Any]]:
    """Every configuration of the stack, read live (one line and exit 1 on failure)."""
    ref = stack_ref(stack)
    try:
        config = read_stack_file(ref.file, ref.name)
        probe_clusters(ref.file, ref.name)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        docs = [status_document(c.name, read(), now) for c, _, read in stack_readers(config)]
        return docs + azure_documents(config)
    except FluxGitOpsError as exc:
        fail(exc)


def unreachable_document(read: ArmRead) -> dict[str, Any]:
    """A configuration ARM did not give: ``Unreachable`` with the error, no objects."""
    request = read.request
    return {
        "cluster": request.cluster,
        "namespace": request.namespace,
        "name": request.name,
        "complianceState": UNREACHABLE,
        "message": read.error,
        "source": {
            "kind": "",
            "name": request.name,
            "url": "",
            "ready": "",
            "reason": "",
            "message": "",
        },
        "sourceSyncedCommitId": "",
        "statuses": [],
        "appliedObjects": {},
        "readFrom": READ_FROM_ARM,
    }


def azure_documents(config: StackConfig) -> list[dict[str, Any]]:
    """The documents of the ``azure`` clusters, read from ARM through ``ARM_READER`` (stale
    ones say how long their agent has been silent)."""
    now = datetime.now(UTC)
    requests = arm_requests(config)
    if not requests:
        return []
    docs = []
    for read in ARM_READER(requests):
        r = read.request
        if read.body is None:
            docs.append(unreachable_document(read))
        else:
            docs.append(arm_status_document(r.cluster, r.namespace, r.name, read.body, now))
    return docs


def _show(docs: list[dict[str, Any]], output: StatusFormat) -> None:
    if output is StatusFormat.json:
        out.print(json.dumps(docs, indent=2), markup=False)
    elif output is StatusFormat.yaml:
        out.print(yaml.safe_dump(docs, sort_keys=False), markup=False, end="")
    else:
        for doc in docs:
            print_status(doc, out, wide=output is StatusFormat.wide)


def all_compliant(docs: list[dict[str, Any]]) -> bool:
    """True when every configuration is Compliant."""
    return all(d["complianceState"] == COMPLIANT for d in docs)


def _states(docs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(d["namespace"], d["name"], d["complianceState"]) for d in docs]


def status(
    stack: StackOption = "local",
    output: Annotated[
        StatusFormat, typer.Option("--output", "-o", help="table, wide, json or yaml")
    ] = StatusFormat.table,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Re-read until every configuration is Compliant")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --watch waits before failing")] = 300.0,
) -> None:
    """Every configuration of a stack as it runs (azure clusters read from ARM): compliance, the
    source and its synced commit, each Kustomization and HelmRelease with ready and message
    (``-o wide``: reason, applied by, applied objects) — ``flux get`` and Azure's deployed-object
    list. Exit 1 when a configuration could not be read (Unreachable)."""
    docs = read_documents(stack)
    if not watch:
        _show(docs, output)
        if any(d["complianceState"] == UNREACHABLE for d in docs):
            raise typer.Exit(1)
        return
    deadline = time.monotonic() + timeout
    shown: list[tuple[str, str, str]] = []
    while True:
        if _states(docs) != shown or not shown:
            shown = _states(docs)
            _show(docs, output)
        if all_compliant(docs):
            return
        if time.monotonic() >= deadline:
            waiting = [f"{ns}/{name} {state}" for ns, name, state in shown if state != COMPLIANT]
            fail(f"not all Compliant after {timeout:g}s: {', '.join(waiting)}")
        time.sleep(WATCH_INTERVAL)
        docs = read_documents(stack)
