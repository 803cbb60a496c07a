#!/usr/bin/env bash
# make-pki.sh - make the shared secrets and TLS files of a raftlist cluster, once.
#
#   deploy/make-pki.sh DIR node1=10.0.0.1 node2=10.0.0.2 node3=10.0.0.3
#
# Writes into DIR (created 0700) what every node's install-node.sh --pki DIR
# needs, keeping files that already exist (safe to run again, e.g. to add a
# node's certificate):
#   cluster-secret   the secret members prove to each other (32 random bytes, hex)
#   requirepass      the client password (AUTH)
#   ca.crt, ca.key   the cluster CA (keep ca.key off the nodes if you can)
#   NAME.crt/.key    a node certificate per NAME=IP[,IP|DNS...]: SANs for the
#                    addresses it is dialled by, EKU serverAuth+clientAuth (a node
#                    is a server and a client of its peers; docs/operations/tls.md)
#   client.crt/.key  a client certificate (clientAuth only) for redis-cli
# Needs openssl. Copy DIR to each host over a trusted channel.
set -euo pipefail

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

[[ $# -ge 1 && $1 != -h && $1 != --help ]] || { usage; exit 0; }
DIR=$1
shift
command -v openssl >/dev/null || die "openssl not found"
umask 077
mkdir -p "$DIR"
chmod 0700 "$DIR"

new_secret() { [[ -s $1 ]] || openssl rand -hex 32 >"$1"; }
new_secret "$DIR/cluster-secret"
new_secret "$DIR/requirepass"

if [[ ! -s $DIR/ca.crt ]]; then
    openssl genrsa -out "$DIR/ca.key" 4096 2>/dev/null
    openssl req -x509 -new -nodes -sha256 -key "$DIR/ca.key" -days 3650 \
        -subj '/O=raftlist/CN=raftlist cluster CA' -out "$DIR/ca.crt"
fi

# sign NAME EXTENSIONS: a key and a CA-signed certificate for NAME.
sign() {
    local name=$1 ext=$2
    [[ -s $DIR/$name.crt ]] && return
    openssl genrsa -out "$DIR/$name.key" 2048 2>/dev/null
    openssl req -new -sha256 -subj "/O=raftlist/CN=$name" -key "$DIR/$name.key" -out "$DIR/$name.csr"
    printf '%s\n' "$ext" >"$DIR/$name.ext"
    openssl x509 -req -sha256 -in "$DIR/$name.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
        -CAserial "$DIR/ca.srl" -CAcreateserial -days 825 -extfile "$DIR/$name.ext" -out "$DIR/$name.crt" 2>/dev/null
    rm -f "$DIR/$name.csr" "$DIR/$name.ext"
}

for spec in "$@"; do
    [[ $spec == *=* ]] || die "node spec '$spec': want NAME=IP[,IP|DNS...]"
    name=${spec%%=*}
    [[ $name =~ ^[A-Za-z0-9._-]+$ && $name != client && $name != ca ]] || die "invalid node name '$name'"
    sans=
    IFS=, read -r -a addrs <<<"${spec#*=}"
    for a in "${addrs[@]}"; do
        if [[ $a =~ ^[0-9.]+$ || $a == *:* ]]; then sans+=",IP:$a"; else sans+=",DNS:$a"; fi
    done
    sign "$name" "subjectAltName=DNS:$name${sans}
extendedKeyUsage=serverAuth,clientAuth
keyUsage=digitalSignature,keyEncipherment"
done
sign client "extendedKeyUsage=clientAuth
keyUsage=digitalSignature,keyEncipherment"
printf '==> %s holds the cluster secret, client password, CA and certificates\n' "$DIR"
