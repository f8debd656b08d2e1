# Quick start targets.  `make sider` trains LaMP on SIDER end to end;
# `make test` runs the test suite.  Both install what they need first.
PYTHON ?= python3
# The CPU build of torch that install.sh pins when no torch is installed.
TORCH_VERSION ?= 2.13.0
SIDER_ARGS ?= --epochs 30 --out runs/sider.json

.PHONY: install install-test sider test docs

install:
	TORCH_VERSION=$(TORCH_VERSION) PYTHON=$(PYTHON) sh scripts/install.sh

install-test:
	TORCH_VERSION=$(TORCH_VERSION) PYTHON=$(PYTHON) sh scripts/install.sh test

sider: install
	$(PYTHON) examples/sider.py $(SIDER_ARGS)

test: install-test
	$(PYTHON) -m pytest -q

docs:
	$(PYTHON) -m sphinx -W -b html docs docs/_build/html
