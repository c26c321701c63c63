#!/usr/bin/env python3
"""Build the real third-party programs fluxgitops runs locally, from Go modules.

Programs and versions live in ``tools/versions.json`` (the single source of versions); each Go
program has a small consumer module in ``tools/<program>/`` (``go.mod``/``go.sum``, pinned, with
the upstream replace directives that matter re-declared).  Outputs go to a cache outside the
repository, keyed by version so that every clone on the machine reuses them::

    ${FLUXGITOPS_CACHE:-$HOME/.cache/fluxgitops}/tools/<program>-<version>/

Usage::

    python3 tools/build.py                     # build everything (skips what is already built)
    python3 tools/build.py etcd kube-apiserver # build some programs
    python3 tools/build.py --print-env         # shell exports of the built binaries' paths
    python3 tools/build.py --status            # what is built, build seconds, size on disk
    python3 tools/build.py --sync PROGRAM      # regenerate tools/PROGRAM/go.mod from upstream

Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOOLS_DIR = Path(__file__).resolve().parent
VERSIONS_FILE = TOOLS_DIR / "versions.json"
STAMP_NAME = ".fluxgitops-stamp.json"
ERROR_TAIL_LINES = 25
CONSUMER_MODULE_PREFIX = "fluxgitops.local/tools/"


class BuildError(Exception):
    """A program could not be built; the message names module, version and the Go error tail."""


@dataclass(frozen=True)
class BinarySpec:
    package: str
    binary: str
    env: str | None = None


@dataclass(frozen=True)
class CopySpec:
    module: str
    version: str
    files: tuple[str, ...]
    mode: int


@dataclass(frozen=True)
class Program:
    name: str
    version: str
    raw: Mapping[str, Any]
    module: str = ""
    builds: tuple[BinarySpec, ...] = ()
    ldflags: tuple[str, ...] = ()
    copies: tuple[CopySpec, ...] = ()
    extra_require: Mapping[str, str] = field(default_factory=dict)
    staging_version: str | None = None
    own_main: bool = False
    data: bool = False
    from_programs: tuple[str, ...] = ()
    files_glob: str = ""
    env: str | None = None
    env_dir: str | None = None
    on_path: bool = False
    unavailable: str | None = None

    @property
    def out_dir(self) -> Path:
        return cache_root() / "tools" / f"{self.name}-{self.version}"

    @property
    def mod_dir(self) -> Path:
        return TOOLS_DIR / self.name


def cache_root() -> Path:
    value = os.environ.get("FLUXGITOPS_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "fluxgitops"


def _expand(text: str, version: str, module: str) -> str:
    core = version.lstrip("v").split("-", 1)[0].split("+", 1)[0]
    parts = [*core.split("."), "", ""]
    return text.format(
        version=version,
        semver=version.removeprefix("v"),
        module=module,
        major=parts[0],
        minor=parts[1],
    )


def load_programs() -> dict[str, Program]:
    config = json.loads(VERSIONS_FILE.read_text(encoding="utf-8"))
    programs: dict[str, Program] = {}
    for name, raw in config["programs"].items():
        version = str(raw["version"])
        module = str(raw.get("module", ""))

        def ex(text: str, version: str = version, module: str = module) -> str:
            return _expand(text, version, module)

        programs[name] = Program(
            name=name,
            version=version,
            raw=raw,
            module=module,
            builds=tuple(
                BinarySpec(package=b["package"], binary=b["binary"], env=b.get("env"))
                for b in raw.get("builds", [])
            ),
            ldflags=tuple(ex(flag) for flag in raw.get("ldflags", [])),
            copies=tuple(
                CopySpec(
                    module=ex(c["module"]),
                    version=ex(c["version"]),
                    files=tuple(c["files"]),
                    mode=int(c["mode"], 8),
                )
                for c in raw.get("copy", [])
            ),
            extra_require={m: ex(v) for m, v in raw.get("extra_require", {}).items()},
            staging_version=raw.get("staging_version"),
            own_main=bool(raw.get("own_main", False)),
            data=bool(raw.get("data", False)),
            from_programs=tuple(raw.get("from_programs", [])),
            files_glob=str(raw.get("files", "")),
            env=raw.get("env"),
            env_dir=raw.get("env_dir"),
            on_path=bool(raw.get("on_path", False)),
            unavailable=raw.get("unavailable"),
        )
    return programs


def log(message: str) -> None:
    print(f"[tools] {message}", flush=True)


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["CGO_ENABLED"] = "0"
    env["GOTOOLCHAIN"] = "local"
    env["GOWORK"] = "off"
    return env


def tail(text: str, lines: int = ERROR_TAIL_LINES) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_go(args: Sequence[str], cwd: Path, program: Program, what: str) -> str:
    """Run ``go ARGS`` and return stdout; on failure raise BuildError with the error tail."""
    cmd = ["go", *args]
    proc = subprocess.run(cmd, cwd=cwd, env=go_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(
            f"{program.name}: {what} failed for module {program.module or '-'} "
            f"version {program.version} (exit {proc.returncode})\n"
            f"  command: {shlex.join(cmd)}  (in {cwd})\n"
            f"  go error (last lines):\n{_indent(tail(proc.stderr or proc.stdout))}"
        )
    return proc.stdout


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _download(program: Program, module: str, version: str, field: str) -> Path:
    """``go mod download -json MODULE@VERSION`` and return the path in ``field`` (Dir, GoMod)."""
    out = run_go(
        ["mod", "download", "-json", f"{module}@{version}"],
        TOOLS_DIR,
        program,
        f"go mod download {module}@{version}",
    )
    info = json.loads(out)
    if "Error" in info or field not in info:
        raise BuildError(
            f"{program.name}: cannot download module {module} version {version}: "
            f"{info.get('Error', f'no {field} in go mod download output')}"
        )
    return Path(info[field])


def module_dir(program: Program, module: str, version: str) -> Path:
    """Download MODULE@VERSION into the Go module cache and return its (read-only) directory."""
    return _download(program, module, version, "Dir")


def module_gomod(program: Program, module: str, version: str) -> Path:
    """Download MODULE@VERSION and return its go.mod file in the module cache."""
    return _download(program, module, version, "GoMod")


def copy_file(src: Path, dst: Path, mode: int) -> None:
    """Copy out of the (read-only) module cache, then set the wanted permission bits."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    dst.chmod(mode)


def fingerprint(program: Program, programs: Mapping[str, Program], go_version: str) -> str:
    digest = hashlib.sha256()
    digest.update(go_version.encode())
    for spec in (program, *(programs[dep] for dep in program.from_programs)):
        # Keys starting with "_" are notes for people; they must not force a rebuild.
        relevant = {k: v for k, v in spec.raw.items() if not k.startswith("_")}
        digest.update(json.dumps(relevant, sort_keys=True).encode())
    if program.mod_dir.is_dir():
        for path in sorted(program.mod_dir.iterdir()):
            if path.is_file() and (path.suffix == ".go" or path.name in {"go.mod", "go.sum"}):
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def read_stamp(program: Program) -> dict[str, Any] | None:
    path = program.out_dir / STAMP_NAME
    try:
        stamp: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return stamp


def is_built(program: Program, fp: str | None = None) -> bool:
    stamp = read_stamp(program)
    if stamp is None or stamp.get("version") != program.version:
        return False
    if fp is not None and stamp.get("fingerprint") != fp:
        return False
    return all((program.out_dir / b.binary).is_file() for b in program.builds)


def go_version() -> str:
    proc = subprocess.run(
        ["go", "env", "GOVERSION"], env=go_env(), capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise BuildError(f"`go env GOVERSION` failed: {tail(proc.stderr)}")
    return proc.stdout.strip()


@contextlib.contextmanager
def cache_lock() -> Iterator[None]:
    lock_path = cache_root() / "tools" / ".lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_consumer_module(program: Program) -> None:
    gomod = program.mod_dir / "go.mod"
    if not gomod.is_file():
        raise BuildError(
            f"{program.name}: {gomod} is missing; "
            f"run `python3 tools/build.py --sync {program.name}`"
        )
    data = _go_mod_json(program, gomod)
    found = next(
        (r["Version"] for r in data.get("Require") or [] if r["Path"] == program.module),
        "nothing",
    )
    if found != program.version:
        raise BuildError(
            f"{program.name}: {gomod} requires {program.module} at {found}, versions.json says "
            f"{program.version}; run `python3 tools/build.py --sync {program.name}`"
        )


def build_go_program(program: Program, tmp: Path) -> None:
    check_consumer_module(program)
    started = time.monotonic()
    run_go(["mod", "download"], program.mod_dir, program, "go mod download")
    log(f"{program.name} {program.version}: modules ready ({time.monotonic() - started:.1f}s)")
    ldflags = " ".join(["-s", "-w", *program.ldflags])
    for spec in program.builds:
        step = time.monotonic()
        args = [
            "build",
            "-mod=readonly",
            "-trimpath",
            "-buildvcs=false",
            "-ldflags",
            ldflags,
            "-o",
            str(tmp / spec.binary),
            spec.package,
        ]
        run_go(args, program.mod_dir, program, f"go build {spec.package}")
        log(
            f"{program.name} {program.version}: built {spec.binary} "
            f"({time.monotonic() - step:.1f}s)"
        )
    for copy in program.copies:
        src_dir = module_dir(program, copy.module, copy.version)
        for rel in copy.files:
            src = src_dir / rel
            if not src.is_file():
                raise BuildError(
                    f"{program.name}: {rel} not found in module {copy.module} {copy.version}"
                )
            copy_file(src, tmp / Path(rel).name, copy.mode)


def build_data(program: Program, programs: Mapping[str, Program], tmp: Path) -> None:
    sources: dict[str, str] = {}
    for dep_name in program.from_programs:
        dep = programs[dep_name]
        src_dir = module_dir(program, dep.module, dep.version)
        matches = sorted(src_dir.glob(program.files_glob))
        if not matches:
            raise BuildError(
                f"{program.name}: no {program.files_glob} in module {dep.module} {dep.version}"
            )
        for src in matches:
            if src.name in sources:
                raise BuildError(f"{program.name}: {src.name} comes from two modules")
            copy_file(src, tmp / src.name, 0o644)
            sources[src.name] = f"{dep.module}@{dep.version}"
    manifest = {"version": program.version, "files": sources}
    (tmp / "SOURCES.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def build_flux_bundle(program: Program, programs: Mapping[str, Program], tmp: Path) -> None:
    """Run the just-built ``tools/flux-bundle`` over the controllers' modules (``from_programs``).

    Writes ``install.yaml`` (what ``flux install --export`` prints, at the versions built here)
    and ``SOURCES.json`` (the module every object came from) into ``tmp``.
    """
    settings: Mapping[str, Any] = program.raw["bundle"]
    flux2_dir = module_dir(program, program.module, program.version)
    cmd = [
        str(tmp / program.builds[0].binary),
        "-flux2",
        str(flux2_dir),
        "-flux2-version",
        program.version,
        "-namespace",
        str(settings.get("namespace", "flux-system")),
        "-out",
        str(tmp),
    ]
    for dep_name in program.from_programs:
        dep = programs[dep_name]
        src_dir = module_dir(program, dep.module, dep.version)
        cmd += ["-controller", f"{dep.name}={dep.module}@{dep.version}={src_dir}"]
    for name, reason in settings.get("left_out", {}).items():
        cmd += ["-left-out", f"{name}={reason}"]
    proc = subprocess.run(cmd, env=go_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError(
            f"{program.name}: generating the Flux install bundle failed (exit {proc.returncode})\n"
            f"  command: {shlex.join(cmd[:1])} ...\n"
            f"  error (last lines):\n{_indent(tail(proc.stderr or proc.stdout))}"
        )
    log(f"{program.name} {program.version}: wrote install.yaml and SOURCES.json")


def build_program(
    program: Program, programs: Mapping[str, Program], gover: str, force: bool
) -> str:
    """Build one program; returns 'cached', 'built' or 'unavailable'."""
    if program.unavailable:
        log(f"{program.name}: UNAVAILABLE (module {program.module}, {program.version})")
        print(_indent(program.unavailable), flush=True)
        return "unavailable"
    fp = fingerprint(program, programs, gover)
    if not force and is_built(program, fp):
        log(f"{program.name} {program.version}: up to date in {program.out_dir}")
        return "cached"
    log(f"{program.name} {program.version}: building into {program.out_dir}")
    started = time.monotonic()
    out = program.out_dir
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        if program.data:
            build_data(program, programs, tmp)
        else:
            build_go_program(program, tmp)
        if program.raw.get("bundle"):
            build_flux_bundle(program, programs, tmp)
        elapsed = time.monotonic() - started
        stamp = {
            "program": program.name,
            "version": program.version,
            "module": program.module,
            "fingerprint": fp,
            "go": gover,
            "build_seconds": round(elapsed, 1),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "binaries": [b.binary for b in program.builds],
        }
        (tmp / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"{program.name} {program.version}: done in {time.monotonic() - started:.1f}s")
    return "built"


# --- go.mod generation -------------------------------------------------------------------------


def _go_mod_json(program: Program, path: Path) -> dict[str, Any]:
    out = run_go(["mod", "edit", "-json", str(path)], TOOLS_DIR, program, "go mod edit -json")
    data: dict[str, Any] = json.loads(out)
    return data


def _is_local(path: str) -> bool:
    return path.startswith(("./", "../", "/"))


def render_consumer_gomod(program: Program) -> str:
    upstream = _go_mod_json(program, module_gomod(program, program.module, program.version))
    lines = [
        "// Generated by `python3 tools/build.py --sync "
        f"{program.name}` from {program.module}@{program.version}'s go.mod.",
        "// Edit tools/versions.json, not this file.",
        f"module {CONSUMER_MODULE_PREFIX}{program.name}",
        "",
        f"go {upstream.get('Go') or '1.26.0'}",
        "",
    ]
    for godebug in upstream.get("GoDebug") or []:
        lines.append(f"godebug {godebug['Key']}={godebug['Value']}")
    if upstream.get("GoDebug"):
        lines.append("")
    if not program.own_main:
        lines += [f"tool {spec.package}" for spec in program.builds]
        lines.append("")
    requires = {program.module: program.version, **program.extra_require}
    lines.append("require (")
    lines += [f"\t{mod} {ver}" for mod, ver in requires.items()]
    lines += [")", ""]

    staging_required = {
        r["Path"] for r in upstream.get("Require") or [] if r.get("Version") == "v0.0.0"
    }
    replaces: list[str] = []
    for rep in upstream.get("Replace") or []:
        old, new = rep["Old"], rep["New"]
        old_text = old["Path"] + (f" {old['Version']}" if old.get("Version") else "")
        if not _is_local(new["Path"]):
            replaces.append(f"\t{old_text} => {new['Path']} {new['Version']}")
        elif program.staging_version and old["Path"] in staging_required:
            replaces.append(f"\t{old_text} => {old['Path']} {program.staging_version}")
        # Other local replaces (../sdk, ./api, FORBIDDEN_DEPENDENCY) are dropped: the
        # consumer requires the separately published module at its tagged version instead.
    if replaces:
        lines += ["replace (", *replaces, ")", ""]
    return "\n".join(lines)


def sync_program(program: Program) -> None:
    if program.data or program.unavailable:
        log(f"{program.name}: nothing to sync")
        return
    program.mod_dir.mkdir(parents=True, exist_ok=True)
    gomod = program.mod_dir / "go.mod"
    gomod.write_text(render_consumer_gomod(program), encoding="utf-8")
    started = time.monotonic()
    run_go(["mod", "tidy"], program.mod_dir, program, "go mod tidy")
    check_consumer_module(program)
    elapsed = time.monotonic() - started
    log(f"{program.name} {program.version}: go.mod/go.sum synced ({elapsed:.1f}s)")


# --- reporting ---------------------------------------------------------------------------------


def dir_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).lstat().st_size
    return total


def print_env(programs: Mapping[str, Program]) -> None:
    path_dirs: list[str] = []
    print(f"export FLUXGITOPS_TOOLS_DIR={shlex.quote(str(cache_root() / 'tools'))}")
    for program in programs.values():
        if program.unavailable:
            print(f"# {program.name}: unavailable (see tools/versions.json)")
            continue
        if not is_built(program):
            print(f"# {program.name} {program.version}: not built; run python3 tools/build.py")
            continue
        for spec in program.builds:
            if spec.env:
                value = shlex.quote(str(program.out_dir / spec.binary))
                print(f"export {spec.env}={value}")
        for var in (program.env, program.env_dir):
            if var:
                print(f"export {var}={shlex.quote(str(program.out_dir))}")
        if program.on_path:
            path_dirs.append(str(program.out_dir))
    if path_dirs:
        print(f'export PATH={shlex.quote(":".join(path_dirs))}:"$PATH"')


def print_status(programs: Mapping[str, Program]) -> None:
    for program in programs.values():
        if program.unavailable:
            print(f"{program.name:28} {'-':40} unavailable")
            continue
        stamp = read_stamp(program) if is_built(program) else None
        if stamp is None:
            print(f"{program.name:28} {program.version:40} not built")
            continue
        size = dir_size(program.out_dir) / 2**20
        print(
            f"{program.name:28} {program.version:40} built in {stamp['build_seconds']:7.1f}s "
            f"{size:8.1f} MiB  {program.out_dir}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("programs", nargs="*", help="programs to build (default: all)")
    parser.add_argument("--print-env", action="store_true", help="print shell exports and exit")
    parser.add_argument("--status", action="store_true", help="show what is built and exit")
    parser.add_argument("--sync", action="store_true", help="regenerate go.mod/go.sum")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)

    programs = load_programs()
    unknown = [name for name in args.programs if name not in programs]
    if unknown:
        parser.error(f"unknown program(s): {', '.join(unknown)}; known: {', '.join(programs)}")
    selected = [programs[name] for name in (args.programs or programs)]

    if args.print_env:
        print_env({p.name: p for p in selected})
        return 0
    if args.status:
        print_status({p.name: p for p in selected})
        return 0

    failures: list[str] = []
    try:
        gover = go_version()
    except (BuildError, OSError) as exc:
        print(f"[tools] FAILED: Go toolchain not usable: {exc}", file=sys.stderr)
        return 2
    log(f"go {gover}; cache {cache_root() / 'tools'}")
    # --sync only rewrites tools/<program>/; building takes a lock on the shared cache.
    with contextlib.nullcontext() if args.sync else cache_lock():
        for program in selected:
            try:
                if args.sync:
                    sync_program(program)
                else:
                    build_program(program, programs, gover, args.force)
            except BuildError as exc:
                print(f"[tools] FAILED: {exc}", file=sys.stderr, flush=True)
                failures.append(program.name)
    if failures:
        print(f"[tools] failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
