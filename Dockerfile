# syntax=docker/dockerfile:1

# Modelkeep container image: a static binary on distroless, running as a
# non-root user. Build with `docker build -t modelkeep .` (BuildKit is needed
# for the cache mounts; it is the default builder of current Docker).
#
# The distroless image has no shell and no HTTP client, so the HEALTHCHECK
# runs the binary itself: `modelkeep health` asks the server's GET /readyz
# over loopback (the port of MODELKEEP_LISTEN) and exits 0 on 200, 1
# otherwise. Orchestrators may instead probe GET /healthz (liveness) and
# GET /readyz (readiness) over HTTP.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0
# Dependencies first, so that a source change does not download them again.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    go mod download
ARG TARGETOS
ARG TARGETARCH
# What `modelkeep version` prints and the server logs at start. The build
# context has no .git, so the caller passes them (compose.yaml does, from
# MODELKEEP_VERSION and MODELKEEP_COMMIT):
#   docker build --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg COMMIT="$(git rev-parse HEAD)" -t modelkeep .
ARG VERSION=""
ARG COMMIT=""
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w -X github.com/modelkeep/modelkeep/server.Version=${VERSION} -X github.com/modelkeep/modelkeep/server.Commit=${COMMIT}" \
    -o /out/modelkeep ./cmd/modelkeep
# The data directory, owned by the runtime user: a fresh named volume
# mounted on /data copies this ownership, so the server can write to it.
RUN mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/modelkeep /modelkeep
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV MODELKEEP_LISTEN=0.0.0.0:8080 \
    MODELKEEP_DATA_DIR=/data
EXPOSE 8080
VOLUME ["/data"]
# start-period: the server waits for its database and object store at start.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/modelkeep", "health"]
ENTRYPOINT ["/modelkeep"]
CMD ["serve"]
