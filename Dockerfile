# syntax=docker/dockerfile:1
#
# scready's container image: the release binary on Debian slim, running as an unprivileged user,
# with reports and the history database on the /reports volume.
#
#   docker build -t scready .
#   docker run --rm -v "$PWD/reports:/reports" scready demo          # smoke test, no Azure needed
#   docker run --rm -v "$PWD/reports:/reports" \
#     -e AZURE_TENANT_ID -e AZURE_CLIENT_ID -e AZURE_CLIENT_SECRET \
#     scready scan --auth client-secret --fail-on error
#
# The working directory is /, so scready's relative defaults land on the volume:
# /reports/<UTC timestamp>/ for each run, /reports/latest pointing at the newest and
# /reports/history.sqlite for the trend and `scready diff`. The volume must be writable by
# uid 10001 (Kubernetes: fsGroup 10001).
#
# Build argument SCREADY_FEATURES (default "sim"): the cargo features compiled in. "sim" keeps the
# embedded simulator, so `scready demo` and `scready sim serve` work in the image (a rehearsal of
# a pipeline before any Azure role is granted); --build-arg SCREADY_FEATURES= builds the scanner
# alone.

# The toolchain is pinned; Cargo.lock pins every crate (--locked).
FROM rust:1.95.0-trixie AS builder
WORKDIR /src
COPY . .
ARG SCREADY_FEATURES=sim
# The registry and target caches speed up rebuilds (BuildKit); the binary is copied out of the
# cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --no-default-features --features "${SCREADY_FEATURES}" \
    && install -D -m 0755 target/release/scready /out/scready

# Same Debian release as the builder, so the binary finds the glibc it was linked against.
FROM debian:trixie-slim
# TLS roots: rustls reads the system bundle. Taken from the builder (Debian's ca-certificates
# package), so the runtime stage needs no package manager; rebuild the image to refresh it.
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
RUN groupadd --system --gid 10001 scready \
    && useradd --system --uid 10001 --gid scready --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin scready \
    && mkdir /reports \
    && chown scready:scready /reports
COPY --from=builder /out/scready /usr/local/bin/scready
VOLUME ["/reports"]
WORKDIR /
# Numeric, so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
ENTRYPOINT ["scready"]
CMD ["--help"]
