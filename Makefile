# Two commands set everything up on a fresh machine:
#   make run    builds scready and runs the demo (simulator + demo fleet, scanned end to end;
#               reports and, with Chromium installed, a screenshot in reports/demo/)
#   make test   runs the whole test suite
CARGO ?= cargo

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

bench:
	@echo "benchmarks: not yet written"
