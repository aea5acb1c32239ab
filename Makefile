# The two commands of the README:
#   make demo   compile spec/platform.yaml and apply the dev environment on a local AWS emulator
#   make test   run the whole test suite
# Both set up the virtual environment first.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin

# Terraform downloads the AWS provider as usual; on a machine without registry
# access, point TMSC_TF_PLUGIN_DIR at a filesystem mirror of it. A mirror in the
# usual place of our CI image is used when present.
TMSC_TF_PLUGIN_DIR ?= $(wildcard /opt/tf-plugins)
export TMSC_TF_PLUGIN_DIR

.PHONY: venv demo test compile schema clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

compile: venv
	$(BIN)/tmsc compile spec/platform.yaml

schema: venv
	$(BIN)/tmsc schema > spec/platform.schema.json

demo: venv
	$(BIN)/tmsc compile spec/platform.yaml
	$(BIN)/python -m tests.emulator.demo --env dev

test: venv
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
