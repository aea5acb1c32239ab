# The commands of the README:
#   make demo   compile spec/platform.yaml and apply the dev environment on a local AWS emulator
#   make test   run the whole test suite
#   make check  the loop run on every change: everything that needs no emulator, lint and types
# Each sets up the virtual environment first.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

# checkov pins heavy dependencies of its own: it lives in a venv of its own,
# and tests/test_checkov.py calls it by path. The figures are for this version.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := .venv-checkov

# Terraform downloads the AWS provider as usual; on a machine without registry
# access, point TMSC_TF_PLUGIN_DIR at a filesystem mirror of it. A mirror in the
# usual place of our CI image is used when present.
TMSC_TF_PLUGIN_DIR ?= $(wildcard /opt/tf-plugins)
export TMSC_TF_PLUGIN_DIR

.PHONY: venv checkov crds demo test check compile schema clean

# pytest-xdist workers for the test suite: each is a process with its own emulator, ports, scratch
# directories and Terraform plugin cache. More workers than cores pays off: an emulator apply spends
# much of its time in the provider's polling waits. Each module stays on one worker (tests/conftest.py).
TEST_WORKERS ?= 4
CHECK_WORKERS ?= 2
PY_SOURCES := compiler tests bench docs .github/scripts

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

checkov: $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

$(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION):
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	rm -f $(CHECKOV_VENV)/.installed-*
	touch $@

# The CRD schemas tests/test_kubernetes.py validates the rendered custom resources against: pinned PyPI and
# npm packages, installed into a cache outside the work tree keyed by the pins (tests/crds/README.md). Needs
# npm; a few seconds when the pins change, well under a second once cached.
crds: venv
	$(BIN)/python -m tests.crds.fetch

compile: venv
	$(BIN)/tmsc compile spec/platform.yaml

schema: venv
	$(BIN)/tmsc schema > spec/platform.schema.json

demo: venv
	$(BIN)/tmsc compile spec/platform.yaml
	$(BIN)/python -m tests.demo --env dev

# Both print their wall time at the end, passed or failed.
test: venv checkov crds
	@start=$$(date +%s); \
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=15 \
	  --record-group-durations build/test-group-durations.json; rc=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s wall time"; exit $$rc

# Everything that needs no emulator: formatting, lint, types, then the tests not marked `emulator`
# (unit tests, properties on fewer examples, the provider-schema check, terraform validate of every
# stack, checkov, the docs and out/ staleness checks, the workflow checks).
check: venv checkov crds
	@start=$$(date +%s); \
	$(BIN)/ruff format --check --quiet $(PY_SOURCES) && \
	$(BIN)/ruff check --quiet $(PY_SOURCES) && \
	$(BIN)/mypy && \
	HYPOTHESIS_PROFILE=check \
	  $(BIN)/pytest -q -m "not emulator" -n $(CHECK_WORKERS) --dist loadgroup; rc=$$?; \
	echo "make check: $$(( $$(date +%s) - start )) s wall time"; exit $$rc

# The checks of the pull-request workflow (.github/workflows/pull-request.yml);
# the test suite runs them too.
.PHONY: validate-specs check-out docs lint-workflows
SPECS ?= spec/platform.yaml

validate-specs: venv
	@for spec in $(SPECS); do \
	  $(BIN)/check-jsonschema --schemafile spec/platform.schema.json "$$spec" && $(BIN)/tmsc validate "$$spec" || exit 1; \
	done

check-out: venv
	rm -rf build/out-check
	$(BIN)/tmsc compile spec/platform.yaml --out build/out-check
	diff -r -x '.terraform*' -x '*.tfstate*' -x tfplan build/out-check out || { echo "out/ is stale: run 'make compile' and commit it" >&2; exit 1; }

# README's generated sections and docs/architecture.svg, from the spec and the rules.
docs: venv
	$(BIN)/python docs/generate.py

lint-workflows: venv
	$(BIN)/zizmor --offline .github/workflows
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .hypothesis
