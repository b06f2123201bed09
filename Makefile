# Two commands set everything up on a fresh machine:
#   make run    builds scready and runs the demo (simulator + demo fleet, scanned end to end;
#               reports and, with Chromium installed, a screenshot in reports/demo/)
#   make test   runs the whole test suite: the scanner's and the simulator's (sim/)
# and one measures it: make bench (see bench/README.md).
CARGO ?= cargo
PYTHON ?= python3
VENV := bench/.venv

.PHONY: run test lint fmt bench soak fuzz

run:
	$(CARGO) build --release
	./target/release/scready demo

test:
	$(CARGO) test --workspace --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

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

# A longer soak than `make test` runs: repeated faulted scans of 20,000 instances.
soak:
	SCREADY_SOAK_RUNS=$${SCREADY_SOAK_RUNS:-40} SCREADY_SOAK_SECONDS=$${SCREADY_SOAK_SECONDS:-1800} \
		$(CARGO) test --release --test soak -- --nocapture

# Fuzz each target for FUZZ_SECONDS (cargo-fuzz; stable toolchains need RUSTC_BOOTSTRAP=1).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS = arm_pages storage_uri policy rbac_actions
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; \
	done
