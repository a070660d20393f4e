# The README's two commands are `make lab` and `make test`; everything else supports them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml 2>/dev/null | sha256sum | cut -c1-12)
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

PYTEST_ARGS ?=
ROLE ?=
SCENARIO ?= default

.PHONY: help setup doctor lint test test-fast images compose-plugin lab lab-down molecule clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP) ## create .venv with the pinned tools, then report what else is missing (installs nothing system-wide)
	@$(BIN)/obsctl doctor || echo "doctor found missing prerequisites: follow the 'fix:' lines above"

doctor: $(STAMP) ## check every prerequisite and print the fix for each missing one
	$(BIN)/obsctl doctor

compose-plugin: $(STAMP) ## make `docker compose` use the Compose v2 binary from the venv (user-level symlink)
	mkdir -p $(HOME)/.docker/cli-plugins
	ln -sf $$($(BIN)/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")') $(HOME)/.docker/cli-plugins/docker-compose
	docker compose version

images: $(STAMP) ## build the local images (systemd Debian 12 base, Debian-built substitutes)
	$(BIN)/obsctl images build

lint: $(STAMP) ## ruff, mypy, yamllint, ansible-lint (production profile), terraform fmt, generated files in sync
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint --offline --profile production
	terraform fmt -check -recursive terraform
	$(BIN)/obsctl dashboards build --check
	$(BIN)/obsctl alerts build --check

test: $(STAMP) ## run every test that can run on this machine; prints what was skipped and why
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: $(STAMP) ## unit and contract tiers only
	$(BIN)/pytest -m "unit or contract" $(PYTEST_ARGS)

molecule: $(STAMP) ## one role's scenario: make molecule ROLE=wireguard [SCENARIO=default]
	@test -n "$(ROLE)" || { echo "usage: make molecule ROLE=<role> [SCENARIO=default]"; exit 2; }
	cd roles/$(ROLE) && $(BIN)/molecule test -s $(SCENARIO)

lab: $(STAMP) ## the main job on the local embedded default: local AWS + terraform apply + lab hosts + site.yml + verify
	$(BIN)/obsctl lab up

lab-down: $(STAMP) ## remove every lab container, network and the local AWS state
	$(BIN)/obsctl lab down

clean: ## remove the venv and caches (not the lab: use lab-down)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
