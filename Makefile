# Two commands set everything up on a fresh machine:
#   make run    builds scready and runs the demo (simulator + demo fleet, scanned end to end)
#   make test   runs the whole test suite
# and one measures it: make bench (see bench/README.md).
CARGO ?= cargo
PYTHON ?= python3
VENV := bench/.venv

.PHONY: run test lint fmt bench

run:
	$(CARGO) build --release
	./target/release/scready demo

test:
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# The peers' virtualenv: created once, refreshed when bench/requirements.txt changes.
$(VENV)/.installed: bench/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r bench/requirements.txt
	touch $@

bench: $(VENV)/.installed
	$(CARGO) build --release
	$(CARGO) bench --bench evaluate --no-run
	$(VENV)/bin/python bench/run.py --python $(VENV)/bin/python
