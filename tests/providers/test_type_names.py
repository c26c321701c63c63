"""Each dynamic resource has a type of its own, and a stack made before that keeps its resources.

Runs the real Pulumi CLI (Automation API, inline program, file backend)
against the local control plane: ``up`` with a resource of the old generic
type ``pulumi-python:dynamic:Resource``, then ``preview`` and ``up`` with
``ManifestsResource`` of the new type and its alias — nothing is created,
replaced or deleted, and the state then holds the new type.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightkube import Client
from lightkube.resources.core_v1 import ConfigMap
from pulumi import automation as auto
from pulumi.dynamic import Resource

from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.toolchain import REPO_ROOT, tool_path
from providers.manifests import ManifestsProvider, ManifestsResource
from providers.objectset import OLD_DYNAMIC_TYPE

NEW_TYPE = "pulumi-python:dynamic/fluxgitops:Manifests"


class OldManifests(Resource):
    """``ManifestsResource`` as it was: the generic dynamic type."""

    def __init__(self, name: str, props: dict[str, Any]) -> None:
        super().__init__(
            ManifestsProvider(),
            name,
            {**props, "set_name": name, "objects": None, "object_keys": None},
        )


def _stack(tmp_path: Path, program: Callable[[], None]) -> auto.Stack:
    """The same stack (file backend under ``tmp_path``) running ``program``."""
    (tmp_path / "state").mkdir(exist_ok=True)
    path = os.pathsep.join([str(tool_path("pulumi").parent), str(Path(sys.executable).parent)])
    env = {
        "PATH": f"{path}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO_ROOT),
        "PULUMI_CONFIG_PASSPHRASE": "test",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_HOME": str(tmp_path / "home"),
    }
    options = auto.LocalWorkspaceOptions(
        env_vars=env,
        project_settings=auto.ProjectSettings(
            name="types",
            runtime="python",
            backend=auto.ProjectBackend(url=(tmp_path / "state").as_uri()),
        ),
    )
    os.environ["PATH"] = env["PATH"]  # the CLI itself is found on our PATH
    return auto.create_or_select_stack("t", project_name="types", program=program, opts=options)


def _uid(admin: Client, name: str) -> str | None:
    meta = admin.get(ConfigMap, name, namespace="default").metadata
    return meta.uid if meta is not None else None


def _types(stack: auto.Stack) -> list[str]:
    resources = (stack.export_stack().deployment or {}).get("resources") or []
    return sorted(str(r["type"]) for r in resources if "dynamic" in str(r["type"]))


def test_old_stack_adopts_the_new_type_without_replacing(
    tmp_path: Path, control_plane: ControlPlane, admin: Client
) -> None:
    name = f"types-{uuid.uuid4().hex[:6]}"
    props = {
        "kubeconfig": str(control_plane.kubeconfig),
        "manifests": [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "default"},
                "data": {"a": "1"},
            }
        ],
    }

    def old_program() -> None:
        OldManifests("set", props)

    def new_program() -> None:
        ManifestsResource("set", props)

    old = _stack(tmp_path, old_program)
    old.up()
    assert _types(old) == [OLD_DYNAMIC_TYPE]
    uid = _uid(admin, name)

    new = _stack(tmp_path, new_program)
    preview = new.preview()
    assert set(preview.change_summary) <= {"same"}, preview.change_summary
    result = new.up()
    assert set(result.summary.resource_changes or {}) <= {"same"}
    assert _types(new) == [NEW_TYPE]
    assert _uid(admin, name) == uid  # the object was not recreated
