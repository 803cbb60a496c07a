#!/usr/bin/env bash
# Checks the container image without an image registry: builds the static
# binary here, wraps it in a FROM scratch image (Dockerfile.local, the same
# final stage as ../../Dockerfile), runs three nodes as containers with host
# networking on 127.0.0.1 only, and checks that they elect a leader, that a
# write through one node is read through another, and that DEBUG DIGEST is
# the same on all three. Containers and volumes are removed at the end.
#
# Needs a running dockerd (DOCKER_HOST if not the default socket), redis-cli
# and Go. Ports: clients 17379-17381, Raft 27379-27381 (BASE=... to move).
# IMAGE=name checks an image built elsewhere (e.g. from ../../Dockerfile)
# instead of building one.
set -euo pipefail
cd "$(dirname "$0")"
base=${BASE:-17379}
raft=$((base + 10000))
name=raftlist-verify
image=${IMAGE:-raftlist:local}

cleanup() {
	for i in 1 2 3; do
		docker rm -f "$name-node$i" >/dev/null 2>&1 || true
		docker volume rm "$name-node$i" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT
cleanup

if [ -z "${IMAGE:-}" ]; then
	echo "== build a static binary and a FROM scratch image"
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION:-container-check}" -o raftlist ../../cmd/raftlist
	mkdir -p data
	docker build -q -f Dockerfile.local -t "$image" . >/dev/null
fi
docker image inspect "$image" --format 'image {{.Id}}: user {{.Config.User}}, volumes {{.Config.Volumes}}, ports {{.Config.ExposedPorts}}, entrypoint {{.Config.Entrypoint}}'
docker run --rm --network none "$image" version

echo "== three nodes, host networking, 127.0.0.1 only"
for i in 1 2 3; do
	port=$((base + i - 1))
	start=(--join "127.0.0.1:$base")
	[ "$i" = 1 ] && start=(--bootstrap)
	docker run -d --name "$name-node$i" --network host -v "$name-node$i:/data" "$image" \
		server --id "node$i" --listen "127.0.0.1:$port" --raft "127.0.0.1:$((raft + i - 1))" \
		--data /data "${start[@]}" >/dev/null
	echo "started $name-node$i: client 127.0.0.1:$port raft 127.0.0.1:$((raft + i - 1)) (${start[*]})"
done

info() { redis-cli -h 127.0.0.1 -p "$1" INFO raft 2>/dev/null | tr -d '\r' | grep "^$2:" | cut -d: -f2- || true; }
echo "== waiting for a leader that every node names"
for try in $(seq 1 120); do
	leaders=$(for i in 0 1 2; do info $((base + i)) raft_leader_id; done | sort -u)
	members=$(redis-cli -h 127.0.0.1 -p "$base" RAFT NODES 2>/dev/null | grep -c '^node' || true)
	if [ "$(echo "$leaders" | wc -l)" = 1 ] && [ -n "$leaders" ] && [ "$members" = 3 ]; then
		break
	fi
	sleep 0.5
done
for i in 0 1 2; do
	echo "127.0.0.1:$((base + i)) $(info $((base + i)) raft_node_id) role=$(info $((base + i)) raft_role) leader=$(info $((base + i)) raft_leader_id)"
done
[ "$(echo "$leaders" | wc -l)" = 1 ] && [ -n "$leaders" ] || { echo "FAIL: no agreed leader"; docker logs "$name-node1" 2>&1 | tail; exit 1; }

echo "== RPUSH through node2, LRANGE through node3"
redis-cli -h 127.0.0.1 -p $((base + 1)) RPUSH container-check a b c
got=$(redis-cli -h 127.0.0.1 -p $((base + 2)) LRANGE container-check 0 -1 | tr '\n' ' ')
echo "LRANGE on node3: $got"
[ "$got" = "a b c " ] || { echo "FAIL: exp 'a b c'"; exit 1; }

echo "== DEBUG DIGEST on every node"
for try in $(seq 1 40); do
	digests=$(for i in 0 1 2; do redis-cli -h 127.0.0.1 -p $((base + i)) DEBUG DIGEST; done)
	[ "$(echo "$digests" | sort -u | wc -l)" = 1 ] && break
	sleep 0.25
done
echo "$digests" | paste -sd' '
[ "$(echo "$digests" | sort -u | wc -l)" = 1 ] || { echo "FAIL: digests differ"; exit 1; }
[ "$(echo "$digests" | head -1)" != 0000000000000000000000000000000000000000 ] || { echo "FAIL: empty digest"; exit 1; }

echo "== the nodes run as the image's user, data in the volume"
docker exec "$name-node1" /raftlist version
docker inspect "$name-node1" --format 'node1: user {{.Config.User}}, mounts {{range .Mounts}}{{.Name}}->{{.Destination}} {{end}}'
echo "OK: leader $(echo "$leaders"), one write read through another node, equal digests"
