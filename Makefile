# The README's two commands are `make lab` and `make test`; everything else supports them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
# Where a new checkout's .venv points: one venv shared by the clones on this machine (a CI-style
# cache), so a fresh clone installs only what its pins change instead of ~500 MB of wheels.
# VENV_SHARED= (empty) gives a checkout its own private .venv directory.
# OBS_CACHE: this machine's caches shared by its clones (the venv, mypy's cache, Go's build cache).
OBS_CACHE ?= $(HOME)/.cache/obs-platform
export OBS_CACHE
VENV_SHARED ?= $(OBS_CACHE)/venv
BIN    := $(abspath $(VENV))/bin
# The stamp names the pins and this checkout (the editable install of obsctl points at it).
STAMP  := $(VENV)/.installed-$(shell { cat requirements.lock pyproject.toml; echo '$(CURDIR)'; } 2>/dev/null | sha256sum | cut -c1-12)
# requirements.txt holds the pins chosen by hand; requirements.lock is the whole tree with hashes,
# generated from it by `make lock` (uv, pinned here); the venv is installed from the lock only.
UV_VERSION := 0.13.9
# checkov (Terraform static analysis) needs an old boto3, so it gets its own venv from its own lock.
CHECKOV_VENV ?= $(OBS_CACHE)/checkov-venv
export CHECKOV_VENV
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell sha256sum requirements-checkov.lock 2>/dev/null | cut -c1-12)
# OBS_NO_INSTALL=1: `make test` / `make lab` print what they would install or start, and do neither.
OBS_NO_INSTALL ?=
export OBS_NO_INSTALL
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# mypy's cache of the third-party stubs (pydantic, httpx, ...) is shared like the venv: a fresh
# clone's first `mypy` took 13 minutes on the 2-core CI machine without it. mypy checks every
# entry against its source file, so a shared cache never answers for code it has not seen.
export MYPY_CACHE_DIR ?= $(if $(VENV_SHARED),$(OBS_CACHE)/mypy-cache,.mypy_cache)

PYTEST_ARGS ?=
ROLE ?=
SCENARIO ?= default

.PHONY: help ready system setup doctor lint lock checkov test test-fast images compose-plugin lab lab-down molecule clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@if [ ! -e $(VENV) ] && [ -n "$(VENV_SHARED)" ]; then \
	  echo "venv: $(VENV) -> $(VENV_SHARED) (shared by this machine's clones; VENV_SHARED= for a private one)"; \
	  mkdir -p $(VENV_SHARED) && ln -s $(VENV_SHARED) $(VENV); \
	  test -x $(VENV_SHARED)/bin/python || $(PYTHON) -m venv $(VENV_SHARED); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@# Byte-compile what runs, not the ~60 Ansible collections nobody here imports (compiling all of
	@# them took over half an hour on a 2-core CI machine): only the collections the roles use.
	@# One process: a worker pool (-j) spent longer handing out the ~100k paths than compiling.
	@# (A few vendored files are for other Python versions: compileall's status is not a failure.)
	$(BIN)/python -m compileall -q \
	  -x 'ansible_collections/(?!(ansible/posix|community/(docker|general|crypto)|amazon/aws|grafana/grafana)/)' \
	  $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') >/dev/null || true
	@rm -f $(VENV)/.installed-* && touch $@

system: ## install the Debian packages the tests and the lab need, start Docker (prints the plan; OBS_NO_INSTALL=1 only reports)
	@bash scripts/bootstrap-ci.sh

setup: $(STAMP) ## create .venv with the pinned tools; installs nothing system-wide
	@$(BIN)/obsctl doctor || echo "doctor found missing prerequisites: follow the 'fix:' lines above"

doctor: $(STAMP) ## check every prerequisite and print the fix for each missing one
	$(BIN)/obsctl doctor

lock: ## regenerate the locks (every package, with hashes) after editing requirements.txt or pyproject's extras
	@test -x $(OBS_CACHE)/uv/bin/uv || { $(PYTHON) -m venv $(OBS_CACHE)/uv && $(OBS_CACHE)/uv/bin/pip install --quiet uv==$(UV_VERSION); }
	$(OBS_CACHE)/uv/bin/uv pip compile requirements.txt --generate-hashes --universal --python-version 3.11 \
	  --custom-compile-command "make lock" --quiet -o requirements.lock
	$(OBS_CACHE)/uv/bin/uv pip compile requirements-checkov.txt --generate-hashes --universal --python-version 3.11 \
	  --custom-compile-command "make lock" --quiet -o requirements-checkov.lock
	@# The obsctl image of the monitoring host (roles/monitoring_stack) installs only the runtime tree of
	@# the service extras, at the versions the venv above was tested with (-c requirements.lock).
	$(OBS_CACHE)/uv/bin/uv pip compile pyproject.toml --extra analyzer --extra bot --extra reports \
	  -c requirements.lock --generate-hashes --universal --python-version 3.11 \
	  --custom-compile-command "make lock" --quiet -o requirements-runtime.lock

$(CHECKOV_STAMP): requirements-checkov.lock
	@echo "checkov: $(CHECKOV_VENV) from requirements-checkov.lock (hashes required)"
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --require-hashes -r requirements-checkov.lock
	@rm -f $(CHECKOV_VENV)/.installed-* && touch $@

checkov: $(CHECKOV_STAMP) ## the checkov venv the Terraform contract test uses (part of `make test`'s set-up)

compose-plugin: $(STAMP) ## make `docker compose` use the Compose v2 binary from the venv (user-level symlink)
	mkdir -p $(HOME)/.docker/cli-plugins
	ln -sf $$($(BIN)/python -c 'import compose, pathlib; print((pathlib.Path(compose.__file__).parent / "docker-compose").resolve())') $(HOME)/.docker/cli-plugins/docker-compose
	docker compose version

images: $(STAMP) ## build the local images (systemd Debian 12 base, Debian-built substitutes)
	@if [ "$(OBS_NO_INSTALL)" = 1 ]; then $(BIN)/obsctl images list; else $(BIN)/obsctl images build; fi

# What `make test` and `make lab` need before they run: system packages and dockerd, the venvs,
# the Compose plugin and the local images. Each step is idempotent and quick when done.
ready: system $(STAMP) $(CHECKOV_STAMP)
	@if [ "$(OBS_NO_INSTALL)" != 1 ]; then $(MAKE) --no-print-directory compose-plugin images; fi
	@$(BIN)/obsctl doctor || echo "doctor found missing prerequisites: follow the 'fix:' lines above"

lint: $(STAMP) ## ruff, mypy, yamllint, ansible-lint (production profile), terraform fmt, generated files in sync
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --offline --profile production
	terraform fmt -check -recursive terraform
	$(BIN)/obsctl dashboards build --check
	$(BIN)/obsctl alerts build --check

# pytest-xdist workers: the Molecule scenarios and the lab mostly wait on containers, so three run
# side by side on a 2-core machine (tests/conftest.py groups the tests and puts the long drills first;
# --no-loadscope-reorder keeps that order: xdist would otherwise start the biggest groups, i.e. the
# many short tests of one file, and leave the one-test Molecule groups for the end). PYTEST_WORKERS=0: one process.
PYTEST_WORKERS ?= 3

test: ready ## install what the tests need (see `system`), then run every test; ends with what was skipped and why
	$(BIN)/pytest $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder) --durations=30 $(PYTEST_ARGS)

test-fast: $(STAMP) ## unit and contract tiers only
	$(BIN)/pytest -m "unit or contract" $(PYTEST_ARGS)

molecule: $(STAMP) ## one role's scenario: make molecule ROLE=wireguard [SCENARIO=default]
	@test -n "$(ROLE)" || { echo "usage: make molecule ROLE=<role> [SCENARIO=default]"; exit 2; }
	cd roles/$(ROLE) && $(BIN)/molecule test -s $(SCENARIO)

lab: ready ## the main job on the local embedded default: local AWS + terraform apply + lab hosts + site.yml + verify
	$(BIN)/obsctl lab up

lab-down: $(STAMP) ## remove every lab container, network and the local AWS state
	$(BIN)/obsctl lab down

clean: ## remove the venv (or the link to the shared one) and caches (not the lab: use lab-down)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
