# Build, lint and test the underlay.network collection. `make test` is what CI runs (.ci/run).
# Every tool is called from .venv explicitly; no activated venv needed.

SHELL := /bin/bash
.DEFAULT_GOAL := test

BIN := .venv/bin
PY := $(BIN)/python
# Some tools start others by name (ansible-lint -> ansible-playbook, ansible-test -> ansible-doc):
# make sure they find the venv's, not whatever else is on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

# Extra pytest arguments, e.g. make integration PYTEST_ARGS='-k macvlan -x'
PYTEST_ARGS ?=
# Run pytest on a test directory; exit status 5 ("no tests collected") is not a failure
# while a directory is still empty, and a missing directory is skipped.
pytest = if [ -d $(1) ]; then $(BIN)/pytest $(1) $(PYTEST_ARGS) || [ $$? -eq 5 ]; \
         else echo "$(1) does not exist: skipped"; fi

.PHONY: test venv lint docs sanity unit integration kernel molecule demo demo-down benchmark benchmark-fleet changelog clean
# Prerequisites run one at a time, left to right: `test` keeps its order even under -j.
.NOTPARALLEL:

test: venv lint docs sanity unit integration kernel molecule

venv:
	scripts/bootstrap.sh

# Every linter always runs, so one pass shows every finding (the changelog fragments too).
lint: venv
	rc=0; \
	$(BIN)/ruff check . || rc=1; \
	$(BIN)/ansible-lint || rc=1; \
	$(BIN)/antsibull-changelog lint || rc=1; \
	exit $$rc

# The docs: antsibull-docs lints every module's, plugin's and role's documentation (schema, markup, references
# to this collection and ansible.builtin), then renders the collection's reference as a Sphinx site, offline
# (docs/site/conf.py), into .cache/docs/html. Any Sphinx warning fails the build.
DOCS := .cache/docs
docs: venv
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs dependent .
	rm -rf $(DOCS) && mkdir -p -m 755 $(DOCS)/rst
	cp docs/site/index.rst $(DOCS)/rst/
	$(BIN)/antsibull-docs --config-file docs/site/antsibull-docs.cfg collection --use-current \
	    --dest-dir $(DOCS)/rst underlay.network
	$(BIN)/sphinx-build -q -W --keep-going -b html -c docs/site $(DOCS)/rst $(DOCS)/html
	@# The guides are on the site, and a page's install note says how to install the collection today.
	test -f $(DOCS)/html/collections/underlay/network/docsite/guide_fleet.html
	sed 's/<[^>]*>//g' $(DOCS)/html/collections/underlay/network/links_module.html \
	    | grep -q 'ansible-galaxy collection build underlay.network'
	@echo "docs: $(DOCS)/html/index.html"

sanity: venv
	scripts/sanity.sh

unit: venv
	$(call pytest,tests/unit)

integration: venv
	$(call pytest,tests/integration)

# Full-kernel tests (802.1Q VLAN, ipvlan, ...): pytest inside the kernel box, User-Mode
# Linux booted by .venv/bin/kernel-box (output streamed, exit status passed on, box always
# torn down; 124 = time limit hit, 125 = the box itself failed). One test, or a few:
#   make kernel PYTEST_ARGS='tests/kernel/test_box.py::test_vlan_tags_separate_traffic'
#   .venv/bin/kernel-box -- .venv/bin/pytest tests/kernel/test_box.py -k ipvlan
# (tests/kernel is left out when PYTEST_ARGS names tests under it itself).
# The whole suite runs in KERNEL_BOXES boxes at once (a box uses one CPU): .venv/bin/kernel-suite, which
# splits it by the seconds per file of an earlier run (tests/kernel/durations.json; --record rewrites it).
KERNEL_TIMEOUT ?= 1500
KERNEL_BOXES ?= 2
# The Docker engine in the box starts from an image store made here (see dev/underlay_dev/lab/dockerd.py).
DOCKER_IMAGE_STORE := .cache/docker-image-store
kernel: venv
	$(BIN)/lab-dockerd build-store $(DOCKER_IMAGE_STORE)
	if [ -n "$(filter tests/kernel%,$(PYTEST_ARGS))" ]; then \
	    $(BIN)/kernel-box --timeout $(KERNEL_TIMEOUT) -- $(BIN)/pytest $(PYTEST_ARGS) || [ $$? -eq 5 ]; \
	else \
	    $(BIN)/kernel-suite --boxes $(KERNEL_BOXES) --timeout $(KERNEL_TIMEOUT) -- $(PYTEST_ARGS); \
	fi

# Molecule scenarios (molecule/README.md), each the whole `molecule test` sequence against a lab
# of its own (.venv/bin/labctl, ulmol<scenario>): default and docker on this kernel, vlan (802.1Q
# VLAN, ipvlan) inside a one-shot kernel box. All three always run; the target fails if any did.
# One scenario: .venv/bin/molecule test -s docker (vlan: the kernel-box line below).
MOLECULE_TIMEOUT ?= 1200
# molecule 26 looks for a collection's scenarios under extensions/molecule; ours are in molecule/.
export MOLECULE_GLOB := molecule/*/molecule.yml
molecule: venv
	rc=0; \
	$(BIN)/molecule test -s default || rc=1; \
	$(BIN)/molecule test -s docker || rc=1; \
	$(BIN)/kernel-box --timeout $(MOLECULE_TIMEOUT) --env MOLECULE_GLOB -- $(BIN)/molecule test -s vlan || rc=1; \
	exit $$rc

# The main job against the embedded lab (.venv/bin/labctl): the lab is built when it is not up
# (on this kernel, or in a persistent kernel box when this kernel has no 802.1Q VLAN / ipvlan)
# and stays up, so that a second `make demo` shows changed=0; `make demo-down` removes it.
LABCTL := $(BIN)/labctl
LAB_INVENTORY := inventories/lab
demo: venv
	$(LABCTL) up --inventory $(LAB_INVENTORY)
	$(LABCTL) run -- $(BIN)/ansible-playbook -i $(LAB_INVENTORY) playbooks/site.yml

demo-down:
	$(LABCTL) down

# Not part of `make test`: about 40 minutes, figures in benchmarks/results/ (see benchmarks/README.md).
benchmark: venv
	$(PY) benchmarks/links_benchmark.py $(BENCHMARK_ARGS)

# Not part of `make test` either: site.yml on 10 lab hosts, forks 10, 1/4/8 segments (benchmarks/README.md).
benchmark-fleet: venv
	$(PY) benchmarks/fleet_benchmark.py $(BENCHMARK_ARGS)

changelog: venv
	$(BIN)/antsibull-changelog lint

clean:
	rm -rf .cache tests/output .pytest_cache .ruff_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +
