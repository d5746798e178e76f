# syntax=docker/dockerfile:1
# One image, two programs: flowkeeper-operator (the default command) and flowkeeper-backfill
# (the Helm chart runs it with `command: [flowkeeper-backfill]`). Build, with the version
# pyproject.toml gives the package (the chart's appVersion is the same, a test checks it):
#   VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' pyproject.toml)
#   docker build --build-arg VERSION=$VERSION -t ghcr.io/flowkeeper/flowkeeper:$VERSION .
ARG PYTHON_IMAGE=python:3.11-slim

# Builder: the project and every dependency as wheels, so the runtime stage needs neither a
# compiler nor network access to a package index.
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
COPY backfill/ backfill/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime: wheels installed from the builder through a bind mount, so they never become a layer.
FROM ${PYTHON_IMAGE}
# The image's version label; the install below pins the package to it, so a VERSION other than
# the one pyproject.toml gives the package fails the build instead of mislabelling the image.
ARG VERSION=0.3.0
LABEL org.opencontainers.image.title="flowkeeper" \
      org.opencontainers.image.description="Kubernetes operator for NetFlow/IPFIX/sFlow collectors and a metadata backfill to Prometheus remote_write" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="https://github.com/flowkeeper/flowkeeper" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels "flowkeeper==${VERSION}" \
    && rm -rf /root/.cache
# The root filesystem is read-only in the chart; /tmp (HOME) is an emptyDir there.
USER 65532:65532
WORKDIR /tmp
# 8080: liveness (/healthz), 9090: operator metrics (/metrics).
EXPOSE 8080 9090
# CMD rather than ENTRYPOINT: `docker run IMAGE flowkeeper-backfill --dry-run` runs the other
# program without --entrypoint, and Kubernetes `command:` replaces either.
CMD ["flowkeeper-operator"]
