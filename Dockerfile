# syntax=docker/dockerfile:1
#
# raftlist in a container: one static binary on an empty image, run as an
# unprivileged user, its data in a volume.
#
#   docker build -t raftlist --build-arg VERSION=v0.2.0 .
#   docker run --rm -p 6379:6379 -v raftlist-data:/data raftlist
#
# The default command runs a one-node cluster; compose.yaml runs three
# nodes (docs/operations/containers.md).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Empty: `raftlist version` falls back to the module's build info.
ARG VERSION=
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/raftlist ./cmd/raftlist \
    && mkdir -p /out/data

FROM scratch
COPY --from=build /out/raftlist /raftlist
# The volume's mount point belongs to the user the node runs as, so that a
# fresh named volume (which copies it) is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME /data
# 6379: clients (RESP); 16379: Raft, between nodes only.
EXPOSE 6379 16379
ENTRYPOINT ["/raftlist"]
# A cluster of one. Nodes of a larger cluster need addresses the others can
# reach (--listen, --raft): see compose.yaml.
CMD ["server", "--bootstrap", "--listen", ":6379", "--raft", "127.0.0.1:16379", "--data", "/data"]
