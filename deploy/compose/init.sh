#!/bin/sh
# Makes the directory deploy/compose.yaml mounts (CORRIDOR_DIR), outside the repository:
#
#   DIR/topology.toml, DIR/keys/**       `corridor keys init --topology deploy/compose/topology.toml`
#                                        (run here unless DIR/topology.toml exists; the corridor
#                                        binary is $CORRIDOR, default `corridor` on the PATH)
#   DIR/public/topology.toml             that topology without private key paths, mounted
#   DIR/public/keys/**.pub               read-only into every container with the public keys
#   DIR/host-topology.toml               the same topology at the ports compose publishes on
#                                        127.0.0.1, for the corridor CLI on the host
#
# Each private key (DIR/keys/**.key, made mode 0400 here: compose mounts it as it is) is
# mounted into its own service only; the declarant also gets the operators' keys
# (DIR/keys/operators), as it signs for them.
#
# Usage: deploy/compose/init.sh DIR
set -eu

dir=${1:?usage: deploy/compose/init.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)

if [ ! -f "$dir/topology.toml" ]; then
    "${CORRIDOR:-corridor}" keys init --topology "$here/topology.toml" --out "$dir"
fi

find "$dir/keys" -type f -name '*.key' -exec chmod 0400 {} +

rm -rf "$dir/public"
mkdir -p "$dir/public"
(cd "$dir" && find keys -type f -name '*.pub') | while read -r f; do
    mkdir -p "$dir/public/$(dirname "$f")"
    cp "$dir/$f" "$dir/public/$f"
done
# No private key paths, nor the folder of the operators' keys (the declarant gets
# --operator-keys in compose.yaml).
sed -e '/^private = /d' \
    -e '/^operator_keys = /d' \
    "$dir/topology.toml" >"$dir/public/topology.toml"
chmod -R a+rX "$dir/public"

sed -E 's/"172\.29\.74\.[0-9]+:([0-9]+)"/"127.0.0.1:\1"/' \
    "$dir/topology.toml" >"$dir/host-topology.toml"

cat <<EOF
$dir/public: the topology and public keys every container reads
$dir/host-topology.toml: the corridor CLI's topology on this host

  CORRIDOR_DIR=$(cd "$dir" && pwd) CORRIDOR_UID=$(id -u) CORRIDOR_GID=$(id -g) \\
    docker compose -f $here/../compose.yaml up --build
EOF
