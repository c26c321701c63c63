# fluxgitops — the two commands the README names:
#   make run    bring up the local control plane and `pulumi up` the `local` stack (the main job)
#   make test   ruff + mypy --strict + pytest; exits non-zero on any failure
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint typecheck pytest tools tools-core tools-test image clean

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

# what the tests and `make run` need: the control plane (etcd, kube-apiserver, controller-manager,
# scheduler, kwok's simulated nodes, kubectl), the Flux CRDs and all four Flux controllers, the
# pulumi CLI and its Python language host; built from Go modules into ~/.cache/fluxgitops
# (a no-op when already built for these versions).
tools-core:
	$(PYTHON) tools/build.py etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl \
		flux-crds flux-bundle pulumi pulumi-language-python source-controller kustomize-controller \
		helm-controller notification-controller

# every third-party program (also the Pulumi CLI, its Python host and the Flux controllers)
tools:
	$(PYTHON) tools/build.py

# the tests also run a user's own Pulumi program with a pulumi_kubernetes.Provider
# (examples/kubernetes-program), which needs the pulumi-kubernetes plugin
tools-test: tools-core
	$(PYTHON) tools/build.py pulumi-resource-kubernetes

pytest: venv tools-test
	$(BIN)/pytest

test: lint typecheck pytest

# what `make run` needs besides tools-core: the helm- and notification-controller
# the whole loop: control plane + Flux controllers + reconciler + Git server serving
# examples/gitops-repo (`local up`), `pulumi up` of the local stack (waits until Compliant),
# then every configuration's status and deployed objects
run: venv tools-core
	$(BIN)/fluxgitops validate stacks/Pulumi.local.yaml
	$(BIN)/fluxgitops local status >/dev/null 2>&1 || $(BIN)/fluxgitops local up
	$(BIN)/fluxgitops up --stack local --yes  # make run is the unattended main job
	$(BIN)/fluxgitops status --stack local -o wide

# the reconciler image without a container engine (root; `apt-get install debootstrap umoci`):
# deploy/Containerfile's image built from Debian packages into ~/.cache/fluxgitops/image/oci
# (tag = project version; a no-op when unchanged), then its entrypoint run in a chroot against a
# local control plane until it has reconciled one FluxConfig. Not part of `make test`.
image: venv
	$(PYTHON) tools/build.py etcd kube-apiserver flux-crds
	$(BIN)/python tools/image.py build
	$(BIN)/python tools/image.py check

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
