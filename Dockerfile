# Build the manager binary, with the Go release the Makefile uses (go1.26.8's
# standard library has known vulnerabilities). TODO(#18): pin both images by
# digest (docker buildx imagetools inspect golang:1.27.3); this machine reaches
# no image registry to read the digests.
FROM golang:1.27.3 AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# Copy the Go module manifests and download the dependencies first, so that
# source changes do not invalidate the cached module layer.
COPY go.mod go.sum ./
RUN go mod download

# Copy the Go source.
COPY cmd/ cmd/
COPY api/ api/
COPY internal/ internal/

# Build a static binary. GOARCH has no default so that the binary matches the
# platform the image is built for (BuildKit sets TARGETOS and TARGETARCH).
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /manager ./cmd

# Use distroless as a minimal base image to package the manager binary.
# See https://github.com/GoogleContainerTools/distroless
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /manager /manager
USER 65532:65532

ENTRYPOINT ["/manager"]
