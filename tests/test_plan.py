"""The plan printers: snapshot tests of text and Markdown, JSON shape, exit codes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fluxgitops.diff import diff_manifests
from fluxgitops.plan import Plan, build_plan, to_json, to_markdown, to_text
from fluxgitops.render import render_configuration
from fluxgitops.spec import parse_configuration

OLD_TOKEN, NEW_TOKEN = "ghp_old-token-0000", "ghp_new-token-1111"
SNAPSHOTS = Path(__file__).parent / "testdata" / "plan"


def _raw(token: str) -> dict[str, Any]:
    return {
        "name": "web",
        "namespace": "apps",
        "gitRepository": {"url": "https://h/r.git", "httpsUser": "bot", "httpsKey": token},
        "kustomizations": {
            "infra": {"path": "infra"},
            "apps": {"path": "apps", "dependsOn": ["infra"]},
        },
    }


@pytest.fixture
def plan() -> Plan:
    """A change (interval), an addition (monitoring), a removal (apps) and a changed secret."""
    old = _raw(OLD_TOKEN)
    new = copy.deepcopy(old)
    new["gitRepository"]["httpsKey"] = NEW_TOKEN
    new["kustomizations"]["infra"]["syncInterval"] = "5m"
    del new["kustomizations"]["apps"]
    new["kustomizations"]["monitoring"] = {"path": "monitoring"}
    diff = diff_manifests(
        render_configuration(parse_configuration(old)),
        render_configuration(parse_configuration(new)),
    )
    same = render_configuration(parse_configuration({**_raw(OLD_TOKEN), "name": "same"}))
    return build_plan(
        [("prod", "apps/web", diff), ("prod", "apps/same", diff_manifests(same, same))]
    )


def test_text_snapshot(plan: Plan, golden: Callable[[Path, str], None]) -> None:
    golden(SNAPSHOTS / "plan.txt", to_text(plan))


def test_markdown_snapshot(plan: Plan, golden: Callable[[Path, str], None]) -> None:
    golden(SNAPSHOTS / "plan.md", to_markdown(plan))


def test_secret_values_never_printed(plan: Plan) -> None:
    for text in (to_text(plan), to_markdown(plan), repr(to_json(plan))):
        assert OLD_TOKEN not in text
        assert NEW_TOKEN not in text
    assert '~ data.password: "[secret]" → "[secret]"' in to_text(plan)


def test_counts_and_exit_code(plan: Plan) -> None:
    assert plan.counts() == {"create": 1, "update": 3, "delete": 1}
    assert plan.exit_code == 2
    assert to_json(plan)["configurations"][0]["changes"][0]["action"] == "create"


def test_no_changes_exit_code_zero() -> None:
    empty = build_plan([("prod", "apps/web", diff_manifests([], []))])
    assert empty.exit_code == 0
    assert to_text(empty) == "No changes. The clusters match the configuration.\n"
