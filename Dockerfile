# syntax=docker/dockerfile:1
#
# Tendril worker image: multi-stage build of `tendril` and `grape`, with pinned Terraform, Helm
# and kubectl, running as a non-root user.
#
# NOTE: no Docker engine runs in the development sandbox (and it reaches no release server), so
# this file has never been built there: it is kept correct by reading. Build it elsewhere with
#   docker build -t vintner/tendril .
# and override the pins with --build-arg TERRAFORM_VERSION=… HELM_VERSION=… KUBECTL_VERSION=….
# The pins match the test peers of `cargo xtask peers` (Terraform 1.15.5, Helm 4.1.4,
# kubectl 1.33.9).

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

# ---- build: the two binaries, release profile --------------------------------------------------
FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS builder
# aws-lc-rs (rustls' crypto provider) builds C code: the slim image has gcc; cmake and perl cover
# its fallback build. No OpenSSL: the tree uses rustls.
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake perl pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p tendril -p grape \
 && mkdir -p /out \
 && cp target/release/tendril target/release/grape /out/

# ---- tools: pinned Terraform, Helm and kubectl, checksums verified ---------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS tools
ARG TERRAFORM_VERSION=1.15.5
ARG HELM_VERSION=4.1.4
ARG KUBECTL_VERSION=1.33.9
# Set by BuildKit from --platform (amd64, arm64).
ARG TARGETARCH
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl unzip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp/tools
RUN set -eux; \
    arch="${TARGETARCH:-amd64}"; \
    tf="terraform_${TERRAFORM_VERSION}_linux_${arch}.zip"; \
    curl -fsSLO "https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}/${tf}"; \
    curl -fsSL "https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}/terraform_${TERRAFORM_VERSION}_SHA256SUMS" \
      | grep " ${tf}\$" | sha256sum -c -; \
    unzip -q "${tf}" terraform -d /usr/local/bin; \
    helm="helm-v${HELM_VERSION}-linux-${arch}.tar.gz"; \
    curl -fsSLO "https://get.helm.sh/${helm}"; \
    echo "$(curl -fsSL "https://get.helm.sh/${helm}.sha256sum" | cut -d' ' -f1)  ${helm}" | sha256sum -c -; \
    tar -xzf "${helm}" "linux-${arch}/helm"; \
    install -m 0755 "linux-${arch}/helm" /usr/local/bin/helm; \
    curl -fsSLo kubectl "https://dl.k8s.io/release/v${KUBECTL_VERSION}/bin/linux/${arch}/kubectl"; \
    echo "$(curl -fsSL "https://dl.k8s.io/release/v${KUBECTL_VERSION}/bin/linux/${arch}/kubectl.sha256")  kubectl" | sha256sum -c -; \
    install -m 0755 kubectl /usr/local/bin/kubectl; \
    terraform version; helm version --short; kubectl version --client

# ---- runtime: slim, non-root --------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# git: sources of jobs; ca-certificates: TLS to Trellis and clouds; openssh-client: git over ssh.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates git openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 tendril \
 && useradd --system --uid 10001 --gid tendril --home-dir /var/lib/tendril --create-home \
      --shell /usr/sbin/nologin tendril
COPY --from=tools /usr/local/bin/terraform /usr/local/bin/helm /usr/local/bin/kubectl /usr/local/bin/
COPY --from=builder /out/tendril /out/grape /usr/local/bin/
USER 10001:10001
WORKDIR /var/lib/tendril
ENV CHECKPOINT_DISABLE=1 \
    TF_IN_AUTOMATION=1 \
    HOME=/var/lib/tendril
# Configuration comes from the environment: TRELLIS_URL, GRAPE_WORKER_TOKEN, GRAPE_WORKER_MODE, …
# Secrets are environment variables or files (`docker run … vintner/tendril --worker-token-file
# /run/secrets/worker-token`), never flag values: `--worker-token VALUE` is refused.
# Tendril drains on SIGTERM (finishes the job in progress within its grace period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["tendril", "start"]
