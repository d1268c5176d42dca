#!/bin/sh
# Prints the ConfigMap and Secrets the manifests of deploy/k8s/ mount, from a directory made by
#
#   corridor keys init --topology deploy/k8s/topology.toml --out DIR
#
#   ConfigMap corridor-topology     topology.toml (without private key paths) and every public
#                                   key, flat: keys/CN/node.key.pub is CN-node.key.pub
#   Secret corridor-key-NAME        `key`: the private key of service NAME (registry,
#                                   declarant, customs-cn, ...); for a customs node also
#                                   `witness`, its country's witness key; nothing else
#   Secret corridor-operator-keys   <OPERATOR_ID>.key for each operator the declarant signs for
#
# The output holds private keys: pipe it to kubectl, never into a file in the repository.
#
# Usage: deploy/k8s/config.sh DIR | kubectl apply -f -
set -eu

dir=${1:?usage: deploy/k8s/config.sh DIR | kubectl apply -f -}
ns=corridor
if [ ! -f "$dir/topology.toml" ]; then
    echo "$dir/topology.toml: no such file; run corridor keys init --topology deploy/k8s/topology.toml --out $dir" >&2
    exit 2
fi

indent() { sed '/./s/^/    /' "$1"; }
b64() { base64 <"$1" | tr -d '\n'; }

cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: corridor-topology
  namespace: $ns
data:
  topology.toml: |
EOF
awk '
    /^private = / { next }
    /^operator_keys = / { next }
    /^public = "keys\// {
        p = $0
        sub(/^public = "keys\//, "", p)
        sub(/"$/, "", p)
        gsub(/\//, "-", p)
        print "public = \"" p "\""
        next
    }
    { print }
' "$dir/topology.toml" | sed '/./s/^/    /'
(cd "$dir" && find keys -type f -name '*.pub' | sort) | while read -r f; do
    echo "  $(echo "${f#keys/}" | tr / -): |"
    indent "$dir/$f"
done

secret() {
    name=$1
    shift
    printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\ntype: Opaque\ndata:\n' "$name" "$ns"
    while [ $# -gt 0 ]; do
        printf '  %s: %s\n' "$1" "$(b64 "$2")"
        shift 2
    done
}

secret corridor-key-registry key "$dir/keys/registry.key"
secret corridor-key-declarant key "$dir/keys/declarant.key"
for d in "$dir"/keys/*/; do
    cc=$(basename "$d")
    if [ -f "$d/node.key" ]; then
        secret "corridor-key-customs-$(echo "$cc" | tr '[:upper:]' '[:lower:]')" \
            key "$d/node.key" witness "$d/witness.key"
    fi
done
set --
for k in "$dir"/keys/operators/*.key; do
    if [ -f "$k" ]; then
        set -- "$@" "$(basename "$k")" "$k"
    fi
done
secret corridor-operator-keys "$@"
