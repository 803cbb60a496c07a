#!/usr/bin/env bash
# install-node.sh - install one raftlist node on a Debian 12 host as a systemd service.
#
# Run by hand as root on each host, or let Vagrant run it as its provisioner
# (see ../Vagrantfile). Safe to run more than once. See --help for usage.

set -euo pipefail

PROG=$(basename "$0")
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------------------
# Settings (each can be given in the environment; flags/arguments win).
# ---------------------------------------------------------------------------
NODE_ID=${RAFTLIST_ID:-}
NODE_IP=${RAFTLIST_IP:-}
JOIN=${RAFTLIST_JOIN:-}                 # HOST[:PORT][,HOST[:PORT]...]: members' (or peers') RESP ports
BOOTSTRAP_EXPECT=${RAFTLIST_BOOTSTRAP_EXPECT:-}   # N: found a new cluster of N nodes (every node the same N)
JOIN_TIMEOUT=${RAFTLIST_JOIN_TIMEOUT:-2m}
PKI_DIR=${RAFTLIST_PKI:-}               # made by make-pki.sh: secrets, ca.crt, ID.crt, ID.key
CLUSTER_SECRET_SRC=${RAFTLIST_CLUSTER_SECRET_FILE:-}
REQUIREPASS_SRC=${RAFTLIST_REQUIREPASS_FILE:-}
NO_TLS=${RAFTLIST_INSECURE_NO_TLS:-0}
NO_AUTH=${RAFTLIST_INSECURE_NO_AUTH:-0}
SRC_DIR=${RAFTLIST_SRC:-}               # raftlist source tree (default: see find_src_dir)
BINARY=${RAFTLIST_BINARY:-}             # prebuilt binary: skip Go and the build
RESP_PORT=${RAFTLIST_RESP_PORT:-6379}
RAFT_PORT=${RAFTLIST_RAFT_PORT:-7379}
DATA_DIR=${RAFTLIST_DATA_DIR:-/var/lib/raftlist}
GO_TARBALL_SHA256=${GO_TARBALL_SHA256:-}
GO_DEFAULT_VERSION=1.26.8
DRY_RUN=${RAFTLIST_DRY_RUN:-0}
NO_START=${RAFTLIST_NO_START:-0}

SERVICE_USER=raftlist
BIN_PATH=/usr/local/bin/raftlist
UNIT_NAME=raftlist.service
UNIT_PATH=/etc/systemd/system/$UNIT_NAME
GO_ROOT=${RAFTLIST_GO_ROOT:-/usr/local/go}   # where Go is looked for / installed
BUILD_CACHE=/var/cache/raftlist-build
CONF_DIR=/etc/raftlist                  # secrets and TLS files, readable by $SERVICE_USER only
TLS_DIR=$CONF_DIR/tls

usage() {
    cat <<EOF
Usage: $PROG [options] [ID IP JOIN_ADDRS]

Install a raftlist node on this Debian 12 host: install Go if needed, build
raftlist, install it to $BIN_PATH, create the '$SERVICE_USER' system user and
$DATA_DIR, write and start the systemd unit $UNIT_NAME.
Idempotent: running it again updates the binary/unit and restarts only if
something changed.

The node serves RESP (Redis protocol) over TLS on IP:$RESP_PORT and Raft
(mutual TLS) on IP:$RAFT_PORT; clients need the password and a client
certificate of the cluster CA.

A new three-node cluster: make the shared files once (on any machine),
  deploy/make-pki.sh pki node1=10.0.0.1 node2=10.0.0.2 node3=10.0.0.3
copy pki/ to each host, and run the same command on every host:
  $PROG --id node1 --ip 10.0.0.1 --pki pki \\
      --bootstrap-expect 3 --join 10.0.0.1,10.0.0.2,10.0.0.3
The nodes find each other and exactly one founds the cluster; a node whose
data dir is lost later rejoins the cluster instead of founding a new one.
A node added to a running cluster: --join without --bootstrap-expect.
There is no --bootstrap: a unit that bootstraps on every start founds a
second cluster when its disk is wiped.

Options (environment variable in brackets):
  --id ID            node id, unique in the cluster            [RAFTLIST_ID]
  --ip IP            this host's IP that other nodes reach     [RAFTLIST_IP]
  --join H[:P],...   the cluster's nodes' RESP addresses (port
                     defaults to 6379), tried in turn           [RAFTLIST_JOIN]
  --bootstrap-expect N  a new cluster of N nodes: found it once N
                     empty nodes answer (server --bootstrap-expect)
                                                                [RAFTLIST_BOOTSTRAP_EXPECT]
  --join-timeout D   give up joining after D; systemd restarts
                     the node (default 2m)                      [RAFTLIST_JOIN_TIMEOUT]
  --pki DIR          cluster-secret, requirepass, ca.crt, ID.crt
                     and ID.key, as made by make-pki.sh          [RAFTLIST_PKI]
  --cluster-secret-file F  the cluster secret (else DIR/cluster-secret,
                     RAFTLIST_CLUSTER_SECRET, or the installed one)
                                                                [RAFTLIST_CLUSTER_SECRET_FILE]
  --requirepass-file F     the client password (else DIR/requirepass,
                     RAFTLIST_REQUIREPASS, or the installed one)  [RAFTLIST_REQUIREPASS_FILE]
  --insecure-no-tls  plain TCP for clients and nodes            [RAFTLIST_INSECURE_NO_TLS=1]
  --insecure-no-auth no client password                         [RAFTLIST_INSECURE_NO_AUTH=1]
  --src DIR          raftlist source tree to build from         [RAFTLIST_SRC]
                     (default: the repo containing this script,
                     else /vagrant)
  --binary PATH      install this prebuilt binary; skips Go
                     and the build                              [RAFTLIST_BINARY]
  --resp-port N      RESP client port (default 6379)            [RAFTLIST_RESP_PORT]
  --raft-port N      Raft transport port (default 7379)         [RAFTLIST_RAFT_PORT]
  --data DIR         data directory (default /var/lib/raftlist) [RAFTLIST_DATA_DIR]
  --no-start         install everything but do not touch systemctl
                     (no daemon-reload/enable/start)            [RAFTLIST_NO_START=1]
  --dry-run          change nothing; print the unit file and the
                     commands that would run                    [RAFTLIST_DRY_RUN=1]
  -h, --help         show this help

Go toolchain (only needed when building):
  1. 'go' on PATH or $GO_ROOT/bin/go, if new enough for go.mod;
  2. otherwise the official tarball is downloaded and unpacked into $GO_ROOT:
     GO_TARBALL_URL     (default https://go.dev/dl/go$GO_DEFAULT_VERSION.linux-<arch>.tar.gz)
     GO_TARBALL_SHA256  optional checksum to verify the download against

Secrets go to $CONF_DIR (mode 0600, owner $SERVICE_USER); TLS files to
$TLS_DIR. Restarting a node later needs nothing from this script: the unit
keeps the same --data directory and never bootstraps a node that has state.
EOF
}

log()  { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die()  { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# run CMD...: run a command that changes the system, or only print it in dry-run mode.
run() {
    if [[ $DRY_RUN == 1 ]]; then
        printf '[dry-run]'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}

# Scratch directory (created on first use, removed on exit). Call
# ensure_work_dir directly, not in $(...), so WORK_DIR is set in this shell.
WORK_DIR=
cleanup() { if [[ -n $WORK_DIR ]]; then rm -rf "$WORK_DIR"; fi; }
trap cleanup EXIT
ensure_work_dir() {
    if [[ -z $WORK_DIR ]]; then WORK_DIR=$(mktemp -d /tmp/raftlist-install.XXXXXX); fi
}

need_arg() { [[ $# -ge 2 && -n $2 ]] || die "option $1 needs a value (see --help)"; }

# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------
parse_args() {
    local positional=()
    while [[ $# -gt 0 ]]; do
        case $1 in
            -h|--help) usage; exit 0 ;;
            --id)        need_arg "$@"; NODE_ID=$2; shift 2 ;;
            --ip)        need_arg "$@"; NODE_IP=$2; shift 2 ;;
            --bootstrap) die "--bootstrap is gone: it founded a new cluster whenever the data dir was empty (a wiped disk: split brain). Give every node of a new cluster --bootstrap-expect N --join <all nodes>" ;;
            --join)      need_arg "$@"; JOIN=$2; shift 2 ;;
            --bootstrap-expect) need_arg "$@"; BOOTSTRAP_EXPECT=$2; shift 2 ;;
            --join-timeout) need_arg "$@"; JOIN_TIMEOUT=$2; shift 2 ;;
            --pki)       need_arg "$@"; PKI_DIR=$2; shift 2 ;;
            --cluster-secret-file) need_arg "$@"; CLUSTER_SECRET_SRC=$2; shift 2 ;;
            --requirepass-file) need_arg "$@"; REQUIREPASS_SRC=$2; shift 2 ;;
            --insecure-no-tls) NO_TLS=1; shift ;;
            --insecure-no-auth) NO_AUTH=1; shift ;;
            --src)       need_arg "$@"; SRC_DIR=$2; shift 2 ;;
            --binary)    need_arg "$@"; BINARY=$2; shift 2 ;;
            --resp-port) need_arg "$@"; RESP_PORT=$2; shift 2 ;;
            --raft-port) need_arg "$@"; RAFT_PORT=$2; shift 2 ;;
            --data)      need_arg "$@"; DATA_DIR=$2; shift 2 ;;
            --no-start)  NO_START=1; shift ;;
            --dry-run)   DRY_RUN=1; shift ;;
            --) shift; positional+=("$@"); break ;;
            -*) die "unknown option: $1 (see --help)" ;;
            *) positional+=("$1"); shift ;;
        esac
    done
    if [[ ${#positional[@]} -gt 3 ]]; then
        die "too many arguments: ${positional[*]} (see --help)"
    fi
    if [[ ${#positional[@]} -ge 1 ]]; then NODE_ID=${positional[0]}; fi
    if [[ ${#positional[@]} -ge 2 ]]; then NODE_IP=${positional[1]}; fi
    if [[ ${#positional[@]} -ge 3 ]]; then JOIN=${positional[2]}; fi
}

valid_port() { [[ $1 =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= 65535 )); }

validate_args() {
    [[ -n $NODE_ID ]] || die "node id missing: pass --id ID (see --help)"
    [[ $NODE_ID =~ ^[A-Za-z0-9._-]+$ ]] || die "node id '$NODE_ID' may only contain letters, digits, '.', '_' and '-'"
    [[ -n $NODE_IP ]] || die "this host's IP missing: pass --ip IP (the address the other nodes reach)"
    [[ $NODE_IP =~ ^[0-9A-Za-z.:-]+$ ]] || die "invalid IP/host '$NODE_IP'"
    [[ $JOIN != bootstrap ]] || die "'bootstrap' is gone (a wiped disk would found a second cluster): give every node of a new cluster --bootstrap-expect N --join <all nodes>"
    [[ -n $JOIN ]] || die "pass --join with the cluster's nodes (and --bootstrap-expect N for a new cluster)"
    local a joined=()
    IFS=, read -r -a addrs <<<"$JOIN"
    for a in "${addrs[@]}"; do
        [[ -n $a ]] || continue
        [[ $a =~ ^[0-9A-Za-z.:_-]+$ && $a != -* ]] || die "invalid join address '$a'"
        # Default the port of a bare host name/IPv4 address to 6379.
        if [[ $a != *:* ]]; then a=$a:6379; fi
        joined+=("$a")
    done
    [[ ${#joined[@]} -gt 0 ]] || die "--join '$JOIN' names no address"
    JOIN=$(IFS=,; printf '%s' "${joined[*]}")
    if [[ -n $BOOTSTRAP_EXPECT ]]; then
        if ! [[ $BOOTSTRAP_EXPECT =~ ^[0-9]+$ ]] || (( BOOTSTRAP_EXPECT < 2 )); then
            die "--bootstrap-expect '$BOOTSTRAP_EXPECT': want a number of nodes, 2 or more"
        fi
    fi
    [[ $JOIN_TIMEOUT =~ ^[0-9]+(ms|s|m|h)$ ]] || die "--join-timeout '$JOIN_TIMEOUT': want a duration such as 90s or 2m"
    if [[ -n $PKI_DIR && $DRY_RUN != 1 ]]; then [[ -d $PKI_DIR ]] || die "--pki $PKI_DIR: no such directory"; fi
    valid_port "$RESP_PORT" || die "invalid RESP port '$RESP_PORT'"
    valid_port "$RAFT_PORT" || die "invalid Raft port '$RAFT_PORT'"
    [[ $RESP_PORT != "$RAFT_PORT" ]] || die "RESP and Raft ports must differ"
    [[ $DATA_DIR == /* ]] || die "data directory must be an absolute path: '$DATA_DIR'"
}

# Wrap an IPv6 literal in brackets for HOST:PORT.
hostport() {
    if [[ $1 == *:* ]]; then printf '[%s]:%s' "$1" "$2"; else printf '%s:%s' "$1" "$2"; fi
}

# ---------------------------------------------------------------------------
# Source tree and Go toolchain
# ---------------------------------------------------------------------------
is_src_dir() { [[ -f $1/go.mod ]] && grep -q '^module github.com/raftlist/raftlist$' "$1/go.mod"; }

find_src_dir() {
    if [[ -n $SRC_DIR ]]; then
        is_src_dir "$SRC_DIR" || die "--src $SRC_DIR is not the raftlist source tree (no matching go.mod)"
        return
    fi
    # Vagrant copies the script to /tmp before running it, so fall back to /vagrant.
    local d
    for d in "$SCRIPT_DIR/.." /vagrant; do
        if is_src_dir "$d"; then SRC_DIR=$(cd "$d" && pwd); return; fi
    done
    die "cannot find the raftlist source tree; pass --src DIR or --binary PATH"
}

# version_ge A B: true if version A >= version B (e.g. 1.26.8 >= 1.26).
version_ge() { [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1) == "$2" ]]; }

required_go_version() {
    local v
    v=$(awk '$1 == "go" { print $2; exit }' "$SRC_DIR/go.mod")
    printf '%s' "${v:-$GO_DEFAULT_VERSION}"
}

# go_version BIN: print e.g. 1.26.8, or nothing if BIN does not run.
go_version() {
    local v
    v=$("$1" env GOVERSION 2>/dev/null) || return 0
    v=${v#go}
    printf '%s' "${v%%[ -]*}"
}

GO_BIN=
ensure_go() {
    local need cand v
    need=$(required_go_version)
    for cand in "$(command -v go || true)" "$GO_ROOT/bin/go"; do
        [[ -n $cand && -x $cand ]] || continue
        v=$(go_version "$cand")
        if [[ -n $v ]] && version_ge "$v" "$need"; then
            GO_BIN=$cand
            log "using Go $v at $GO_BIN (go.mod needs $need)"
            return
        fi
        log "ignoring Go ${v:-?} at $cand: go.mod needs $need"
    done
    install_go_tarball "$need"
}

install_go_tarball() {
    local need=$1 arch url tmp
    arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
    case $arch in
        amd64|x86_64) arch=amd64 ;;
        arm64|aarch64) arch=arm64 ;;
        *) die "no default Go tarball for architecture '$arch'; set GO_TARBALL_URL or RAFTLIST_BINARY" ;;
    esac
    url=${GO_TARBALL_URL:-https://go.dev/dl/go$GO_DEFAULT_VERSION.linux-$arch.tar.gz}
    log "installing Go (need >= $need) from $url into $GO_ROOT"
    GO_BIN=$GO_ROOT/bin/go
    if [[ $DRY_RUN == 1 ]]; then
        run curl -fsSL -o /tmp/go.tar.gz "$url"
        run rm -rf "$GO_ROOT"
        run tar -C "$(dirname "$GO_ROOT")" -xzf /tmp/go.tar.gz
        return
    fi
    if ! command -v curl >/dev/null; then
        log "installing curl"
        DEBIAN_FRONTEND=noninteractive apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends curl ca-certificates
    fi
    ensure_work_dir
    tmp=$WORK_DIR
    curl -fsSL --show-error --retry 3 -o "$tmp/go.tar.gz" "$url" || die "download of $url failed; set GO_TARBALL_URL, install Go in $GO_ROOT, or pass --binary"
    if [[ -n $GO_TARBALL_SHA256 ]]; then
        echo "$GO_TARBALL_SHA256  $tmp/go.tar.gz" | sha256sum -c - >/dev/null || die "checksum mismatch for $url"
    fi
    rm -rf "$GO_ROOT"
    mkdir -p "$(dirname "$GO_ROOT")"
    tar -C "$(dirname "$GO_ROOT")" -xzf "$tmp/go.tar.gz"
    [[ -x $GO_BIN ]] || die "$url did not contain go/bin/go"
    log "installed Go $(go_version "$GO_BIN")"
}

NEW_BINARY=
build_binary() {
    find_src_dir
    log "source tree: $SRC_DIR"
    if [[ ! -d $SRC_DIR/cmd/raftlist ]]; then
        [[ $DRY_RUN == 1 ]] || die "$SRC_DIR/cmd/raftlist not found: nothing to build (use --src or --binary)"
        warn "$SRC_DIR/cmd/raftlist not found: a real run would stop here"
    fi
    ensure_go
    local out
    # Go's caches live in one place whatever $HOME is (the Vagrant provisioner
    # may run as root with HOME=/home/vagrant); GOPATH/GOCACHE from the
    # environment win. The Go version was checked above, so GOTOOLCHAIN=local.
    # -buildvcs=false: the tree may be owned by another user (e.g. a Vagrant
    # synced folder), which makes git refuse to report VCS status to root.
    local build_env=(
        "GOPATH=${GOPATH:-$BUILD_CACHE/go}"
        "GOCACHE=${GOCACHE:-$BUILD_CACHE/go-build}"
        GOTOOLCHAIN=local
        CGO_ENABLED=0
    )
    if [[ $DRY_RUN == 1 ]]; then
        NEW_BINARY=/tmp/raftlist-install.XXXXXX/raftlist
        run cd "$SRC_DIR"
        run env "${build_env[@]}" "$GO_BIN" build -buildvcs=false -trimpath -o "$NEW_BINARY" ./cmd/raftlist
        return
    fi
    ensure_work_dir
    out=$WORK_DIR
    NEW_BINARY=$out/raftlist
    log "building raftlist (this downloads Go modules on the first run)"
    (cd "$SRC_DIR" && env "${build_env[@]}" "$GO_BIN" build -buildvcs=false -trimpath -o "$NEW_BINARY" ./cmd/raftlist) \
        || die "go build failed in $SRC_DIR"
}

# ---------------------------------------------------------------------------
# Install
# ---------------------------------------------------------------------------
CHANGED=0

install_binary() {
    if [[ -n $BINARY ]]; then
        [[ -f $BINARY ]] || die "--binary $BINARY: no such file"
        NEW_BINARY=$BINARY
        log "using prebuilt binary $BINARY"
    else
        build_binary
    fi
    if [[ $DRY_RUN != 1 ]] && [[ -f $BIN_PATH ]] && cmp -s "$NEW_BINARY" "$BIN_PATH"; then
        log "$BIN_PATH is up to date"
        return
    fi
    log "installing $BIN_PATH"
    run install -D -m 0755 -o root -g root "$NEW_BINARY" "$BIN_PATH"
    CHANGED=1
}

ensure_user_and_dirs() {
    if id -u "$SERVICE_USER" >/dev/null 2>&1; then
        log "system user '$SERVICE_USER' exists"
    else
        log "creating system user '$SERVICE_USER'"
        run useradd --system --user-group --home-dir "$DATA_DIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "raftlist node" "$SERVICE_USER"
    fi
    log "ensuring $DATA_DIR (owner $SERVICE_USER, mode 0750)"
    run install -d -m 0750 -o "$SERVICE_USER" -g "$SERVICE_USER" "$DATA_DIR"
}

# place SRC DEST MODE OWNER: install SRC as DEST unless DEST already has
# the same content (never printing a secret's content).
place() {
    local src=$1 dest=$2 mode=$3 owner=$4
    if [[ $DRY_RUN != 1 ]] && [[ -f $dest ]] && cmp -s "$src" "$dest"; then
        log "$dest is up to date"
        return
    fi
    log "installing $dest (mode $mode, owner $owner)"
    run install -m "$mode" -o "$owner" -g "$owner" "$src" "$dest"
    CHANGED=1
}

# place_secret NAME FILE ENV_VALUE: install the secret NAME into $CONF_DIR
# from FILE, else from ENV_VALUE, else from $PKI_DIR/NAME, else keep the
# installed one. Sets SECRET_PATH, or dies when there is none.
SECRET_PATH=
place_secret() {
    local name=$1 file=$2 value=$3 dest=$CONF_DIR/$1
    SECRET_PATH=$dest
    if [[ -z $file && -n $value ]]; then
        ensure_work_dir
        file=$WORK_DIR/$name
        (umask 077; printf '%s\n' "$value" >"$file")
    fi
    if [[ -z $file && -n $PKI_DIR && ( -f $PKI_DIR/$name || $DRY_RUN == 1 ) ]]; then file=$PKI_DIR/$name; fi
    if [[ -n $file ]]; then
        if [[ $DRY_RUN != 1 ]]; then
            [[ -s $file ]] || die "$name: $file is missing or empty"
        fi
        place "$file" "$dest" 0600 "$SERVICE_USER"
        return
    fi
    if [[ -s $dest ]]; then
        log "keeping the installed $dest"
        return
    fi
    if [[ $DRY_RUN == 1 ]]; then
        warn "no $name given (--pki, --$name-file); a real run would stop here"
        return
    fi
    die "no $name: pass --pki DIR (deploy/make-pki.sh makes one) or --$name-file FILE, the same on every node"
}

install_secrets() {
    log "ensuring $CONF_DIR (owner root:$SERVICE_USER, mode 0750)"
    run install -d -m 0750 -o root -g "$SERVICE_USER" "$CONF_DIR"
    CLUSTER_SECRET_PATH=
    REQUIREPASS_PATH=
    # The cluster secret is the only proof of membership (docs/operations/security.md):
    # needed with TLS or a password; without both it still guards the Raft port.
    if [[ $NO_TLS == 1 && $NO_AUTH == 1 && -z $CLUSTER_SECRET_SRC && -z ${RAFTLIST_CLUSTER_SECRET:-} && -z $PKI_DIR ]]; then
        warn "--insecure-no-tls and --insecure-no-auth without a cluster secret: anyone who reaches the ports can read, write and speak Raft"
    else
        place_secret cluster-secret "$CLUSTER_SECRET_SRC" "${RAFTLIST_CLUSTER_SECRET:-}"
        CLUSTER_SECRET_PATH=$SECRET_PATH
    fi
    if [[ $NO_AUTH == 1 ]]; then
        warn "--insecure-no-auth: clients need no password"
    else
        place_secret requirepass "$REQUIREPASS_SRC" "${RAFTLIST_REQUIREPASS:-}"
        REQUIREPASS_PATH=$SECRET_PATH
    fi
}

# check_node_cert CERT: the node certificate must name this node's IP and
# allow serverAuth and clientAuth (docs/operations/tls.md).
check_node_cert() {
    local text
    text=$(openssl x509 -in "$1" -noout -text 2>/dev/null) || die "$1 is not a PEM certificate"
    grep -q "IP Address:$NODE_IP\b\|DNS:$NODE_IP\b" <<<"$text" || die "$1 has no subjectAltName for $NODE_IP (other nodes dial this node by it)"
    if ! grep -q "TLS Web Server Authentication" <<<"$text" || ! grep -q "TLS Web Client Authentication" <<<"$text"; then
        die "$1 must allow serverAuth and clientAuth (a node is its peers' server and client)"
    fi
}

install_tls() {
    if [[ $NO_TLS == 1 ]]; then
        warn "--insecure-no-tls: clients and nodes talk plain TCP"
        return
    fi
    local ca cert key
    if [[ -n $PKI_DIR ]]; then
        ca=$PKI_DIR/ca.crt cert=$PKI_DIR/$NODE_ID.crt key=$PKI_DIR/$NODE_ID.key
    elif [[ -s $TLS_DIR/node.crt && -s $TLS_DIR/node.key && -s $TLS_DIR/ca.crt ]]; then
        log "keeping the installed TLS files in $TLS_DIR"
        return
    elif [[ $DRY_RUN == 1 ]]; then
        warn "no --pki: a real run would stop here"
        return
    else
        die "TLS needs --pki DIR with ca.crt, $NODE_ID.crt and $NODE_ID.key (deploy/make-pki.sh makes them), or --insecure-no-tls"
    fi
    if [[ $DRY_RUN != 1 ]] || [[ -f $cert ]]; then
        local f
        for f in "$ca" "$cert" "$key"; do [[ -s $f ]] || die "TLS: $f is missing"; done
        command -v openssl >/dev/null && check_node_cert "$cert"
    fi
    log "ensuring $TLS_DIR (owner root:$SERVICE_USER, mode 0750)"
    run install -d -m 0750 -o root -g "$SERVICE_USER" "$TLS_DIR"
    place "$ca" "$TLS_DIR/ca.crt" 0644 "$SERVICE_USER"
    place "$cert" "$TLS_DIR/node.crt" 0644 "$SERVICE_USER"
    place "$key" "$TLS_DIR/node.key" 0600 "$SERVICE_USER"
}

# server_args: the cluster part of the unit's command line. Never
# --bootstrap: with --bootstrap-expect, an empty data dir founds a cluster
# only when all expected nodes are empty, and joins one otherwise.
server_args() {
    local a=()
    if [[ $NO_TLS == 1 ]]; then
        a+=(--listen "$(hostport "$NODE_IP" "$RESP_PORT")")
    else
        a+=(--listen= --tls-listen "$(hostport "$NODE_IP" "$RESP_PORT")"
            --tls-cert-file "$TLS_DIR/node.crt" --tls-key-file "$TLS_DIR/node.key" --tls-ca-cert-file "$TLS_DIR/ca.crt")
    fi
    if [[ -n $CLUSTER_SECRET_PATH ]]; then a+=(--cluster-secret-file "$CLUSTER_SECRET_PATH"); fi
    if [[ -n $REQUIREPASS_PATH ]]; then a+=(--requirepass-file "$REQUIREPASS_PATH"); fi
    if [[ -n $BOOTSTRAP_EXPECT ]]; then a+=(--bootstrap-expect "$BOOTSTRAP_EXPECT"); fi
    a+=(--join "$JOIN" --join-timeout "$JOIN_TIMEOUT")
    printf '%s' "${a[*]}"
}

render_unit() {
    local raft
    raft=$(hostport "$NODE_IP" "$RAFT_PORT")
    cat <<EOF
# Written by deploy/install-node.sh; re-run the script to change it.
[Unit]
Description=raftlist node $NODE_ID (Redis-compatible replicated lists)
After=network-online.target
Wants=network-online.target
# Keep retrying (e.g. while the IP is not configured yet at boot).
StartLimitIntervalSec=0

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_USER
# The same command line serves the first start and every restart: a node
# with Raft state resumes it; an empty one joins the cluster it finds
# through --join (or, with --bootstrap-expect, founds it once all expected
# nodes are empty) and exits 1 after --join-timeout, to be restarted.
ExecStart=$BIN_PATH server --id $NODE_ID --raft $raft --data $DATA_DIR $(server_args)
Restart=on-failure
RestartSec=2
LimitNOFILE=65536
TimeoutStopSec=30
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=strict
ProtectHome=true
ReadWritePaths=$DATA_DIR
ReadOnlyPaths=$CONF_DIR

[Install]
WantedBy=multi-user.target
EOF
}

write_unit() {
    local tmp
    ensure_work_dir
    tmp=$WORK_DIR/$UNIT_NAME
    render_unit >"$tmp"
    if [[ $DRY_RUN == 1 ]]; then
        log "unit file $UNIT_PATH would be:"
        sed 's/^/    /' "$tmp"
        CHANGED=1
        return
    fi
    if [[ -f $UNIT_PATH ]] && cmp -s "$tmp" "$UNIT_PATH"; then
        log "$UNIT_PATH is up to date"
        return
    fi
    log "writing $UNIT_PATH"
    install -D -m 0644 "$tmp" "$UNIT_PATH"
    CHANGED=1
}

start_service() {
    if [[ $NO_START == 1 ]]; then
        log "--no-start: not touching systemd; later run: systemctl daemon-reload && systemctl enable --now raftlist"
        return
    fi
    if [[ $DRY_RUN != 1 && ! -d /run/systemd/system ]]; then
        die "systemd is not running on this host; everything else is installed. Use --no-start to skip this step"
    fi
    run systemctl daemon-reload
    run systemctl enable "$UNIT_NAME"
    if [[ $CHANGED == 1 ]]; then
        log "(re)starting $UNIT_NAME"
        run systemctl restart "$UNIT_NAME"
    else
        log "nothing changed; making sure $UNIT_NAME is running"
        run systemctl start "$UNIT_NAME"
    fi
    if [[ $DRY_RUN != 1 ]]; then
        sleep 1
        if systemctl is-active --quiet "$UNIT_NAME"; then
            log "$UNIT_NAME is active"
        else
            systemctl status --no-pager "$UNIT_NAME" || true
            die "$UNIT_NAME failed to start; see: journalctl -u raftlist"
        fi
    fi
}

main() {
    parse_args "$@"
    validate_args
    if [[ $DRY_RUN != 1 && $EUID -ne 0 ]]; then
        die "must run as root (try: sudo $0 $*), or use --dry-run"
    fi
    if [[ $DRY_RUN == 1 ]]; then log "dry run: nothing will be changed"; fi
    log "node '$NODE_ID': RESP $(hostport "$NODE_IP" "$RESP_PORT"), Raft $(hostport "$NODE_IP" "$RAFT_PORT"), data $DATA_DIR, join $JOIN${BOOTSTRAP_EXPECT:+, bootstrap-expect $BOOTSTRAP_EXPECT}"
    install_binary
    ensure_user_and_dirs
    install_secrets
    install_tls
    write_unit
    start_service
    if [[ $NO_TLS == 1 ]]; then
        log "done. Check with: redis-cli -h $NODE_IP -p $RESP_PORT ${REQUIREPASS_PATH:+--askpass }INFO raft"
    else
        log "done. Check with: redis-cli --tls --cacert ca.crt --cert client.crt --key client.key -h $NODE_IP -p $RESP_PORT --askpass INFO raft"
    fi
}

main "$@"
