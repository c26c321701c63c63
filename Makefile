# fluxgitops — the two commands the README names:
#   make run    render every configuration of the `local` stack (the main job on the local default)
#   make test   ruff + mypy --strict + pytest; exits non-zero on any failure
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint typecheck pytest tools tools-core clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

# etcd, kube-apiserver and the Flux CRDs for the local control plane: built from Go
# modules into ~/.cache/fluxgitops (a no-op when already built for these versions).
tools-core:
	$(PYTHON) tools/build.py etcd kube-apiserver flux-crds

# every third-party program (also the Pulumi CLI, its Python host and the Flux controllers)
tools:
	$(PYTHON) tools/build.py

pytest: venv tools-core
	$(BIN)/pytest

test: lint typecheck pytest

run: venv
	$(BIN)/fluxgitops render stacks/Pulumi.local.yaml

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
