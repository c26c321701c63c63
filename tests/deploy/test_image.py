"""``tools/image.py``: the facts it reads from ``deploy/Containerfile`` and its refusals.

The build and the chroot check themselves need root, debootstrap and umoci and take minutes:
they run in ``make image`` (build + check), not here. These tests pin what the script takes
from the Containerfile (one definition of base, user, entrypoint) and that a missing image is
an error with instructions.
"""

from __future__ import annotations

import base64
import tomllib
from pathlib import Path

import pytest
import typer
import yaml

from reconciler.cli import app as reconciler_app
from tools.containerfile import BUILD_VERBS, ImageError, parse_containerfile
from tools.image import (
    CONTAINERFILE,
    REPO,
    ImagePython,
    debian_mirror,
    image_reference,
    update_suites,
)
from tools.image_check import check, embedded_kubeconfig


@pytest.fixture
def containerfile() -> str:
    """The text of deploy/Containerfile."""
    return CONTAINERFILE.read_text()


def test_containerfile_names_one_debian_release_and_python(containerfile: str) -> None:
    facts = parse_containerfile(containerfile)
    assert (facts.codename, facts.python) == ("bookworm", "3.11")
    assert (facts.uid, facts.gid) == (65532, 65532)


def test_entrypoint_is_the_reconciler_module(containerfile: str) -> None:
    facts = parse_containerfile(containerfile)
    assert facts.entrypoint == ["python3", "-m", "reconciler"]
    assert (REPO / "reconciler" / "__main__.py").is_file()
    assert facts.env["PYTHONPATH"] == "/app/site-packages"


def test_cmd_uses_only_options_of_reconciler_run(containerfile: str) -> None:
    facts = parse_containerfile(containerfile)
    group = typer.main.get_command(reconciler_app)
    run = group.commands["run"]  # type: ignore[attr-defined]
    known = {opt for param in run.params for opt in param.opts}
    assert facts.cmd[0] == "run"
    assert {arg.split("=")[0] for arg in facts.cmd[1:]} <= known


def test_wheel_is_built_from_the_copied_sources(containerfile: str) -> None:
    facts = parse_containerfile(containerfile)
    assert dict(facts.copies) == {
        "pyproject.toml": "/src/pyproject.toml",
        "README.md": "/src/README.md",
        "fluxgitops": "/src/fluxgitops",
        "reconciler": "/src/reconciler",
        "tools/versions.json": "/src/tools/versions.json",  # pyproject's data-files
    }
    assert ["pip", "install", "--target", "/app/site-packages", "--no-deps", "/src"] in facts.steps


def test_build_steps_use_only_verbs_the_script_runs(containerfile: str) -> None:
    facts = parse_containerfile(containerfile)
    assert {tuple(step[:2]) for step in facts.steps} <= set(BUILD_VERBS)
    assert ["python", "-m", "compileall", "-q", "/app"] in facts.steps


def test_final_base_of_another_release_is_refused(containerfile: str) -> None:
    text = containerfile.replace("python3-debian12", "python3-debian11")
    with pytest.raises(ImageError, match=r"^Containerfile: final base .*debian11.* is not Debian"):
        parse_containerfile(text)


def test_named_user_is_refused(containerfile: str) -> None:
    text = containerfile.replace("USER 65532:65532", "USER nonroot")
    with pytest.raises(ImageError, match=r"^Containerfile: USER 'nonroot' must be numeric"):
        parse_containerfile(text)


def test_unknown_build_step_is_refused(containerfile: str) -> None:
    text = containerfile.replace(
        "python -m compileall", "apt-get install -y git && python -m compileall"
    )
    with pytest.raises(ImageError, match=r"^Containerfile: RUN 'apt-get install -y git' is not"):
        parse_containerfile(text)


def test_mirror_comes_from_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
    )
    assert debian_mirror("bookworm", [tmp_path]) == "http://mirror.example/debian"


def test_mirror_comes_from_one_line_sources(tmp_path: Path) -> None:
    sources = tmp_path / "sources.list"
    sources.write_text("deb [arch=amd64] http://mirror.example/debian bookworm main\n")
    assert debian_mirror("bookworm", [sources]) == "http://mirror.example/debian"


def test_base_is_upgraded_from_the_updates_and_security_suites_apt_uses(tmp_path: Path) -> None:
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
    )
    assert update_suites("bookworm", [tmp_path]) == [
        ("http://mirror.example/debian", "bookworm-updates"),
        ("http://mirror.example/debian-security", "bookworm-security"),
    ]


def test_missing_mirror_says_what_to_add(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=r"^no apt source for Debian 'trixie'"):
        debian_mirror("trixie", [tmp_path])


def test_image_is_tagged_with_the_project_version() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert image_reference() == ("fluxgitops/reconciler", version)


def test_check_without_an_image_says_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLUXGITOPS_CACHE", str(tmp_path))
    with pytest.raises(ImageError, match=r"^no image .*; build it first with `make image`"):
        check()


def test_pip_picks_wheels_for_the_images_glibc_and_older() -> None:
    options = ImagePython("3.11", (2, 36), "x86_64").pip_target()
    platforms = {options[i + 1] for i, opt in enumerate(options) if opt == "--platform"}
    assert {"manylinux_2_36_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"} <= platforms
    assert "manylinux_2_37_x86_64" not in platforms
    assert options[options.index("--python-version") + 1] == "3.11"
    assert "cp311" in options


def test_kubeconfig_for_the_chroot_inlines_its_certificates(tmp_path: Path) -> None:
    for name in ("ca.crt", "admin.crt", "admin.key"):
        (tmp_path / name).write_text(f"PEM {name}")
    source = tmp_path / "kubeconfig"
    source.write_text(
        yaml.safe_dump(
            {
                "clusters": [
                    {
                        "name": "local",
                        "cluster": {"certificate-authority": str(tmp_path / "ca.crt")},
                    }
                ],
                "users": [
                    {
                        "name": "admin",
                        "user": {
                            "client-certificate": str(tmp_path / "admin.crt"),
                            "client-key": str(tmp_path / "admin.key"),
                        },
                    }
                ],
            }
        )
    )
    config = yaml.safe_load(embedded_kubeconfig(source))
    user = config["users"][0]["user"]
    assert set(user) == {"client-certificate-data", "client-key-data"}
    assert base64.b64decode(user["client-key-data"]) == b"PEM admin.key"
    assert "certificate-authority-data" in config["clusters"][0]["cluster"]
