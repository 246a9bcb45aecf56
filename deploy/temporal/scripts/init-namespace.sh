#!/bin/sh
# Create the Temporal namespace and register kexiang's custom search attributes.
# Runs in temporalio/admin-tools as the one-shot `temporal-init` service; api and worker
# start only after it succeeds. Safe to re-run: whatever already exists is left alone.
set -eu

# NAME=Type pairs: the one list of kexiang's custom search attributes.
# It must match workflows/common.py (tests/test_compose.py checks this line).
SEARCH_ATTRIBUTES="BusinessRef=Keyword OrderKind=Keyword WorkStatus=Keyword SlaDueAt=Datetime Escalated=Bool"

ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${NAMESPACE_RETENTION:-30d}"
MAX_ATTEMPTS=60
RETRY_SECONDS=2

# retry WHAT COMMAND [ARG...]: run COMMAND until it succeeds; exit after MAX_ATTEMPTS failures.
retry() {
  what=$1
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
      echo "Gave up on $what after $MAX_ATTEMPTS attempts" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep "$RETRY_SECONDS"
  done
}

# The maintained upstream compose script connects by IPv4 address because the CLI failed
# to reach the server by its compose service name; do the same, keeping the name if the
# lookup finds nothing.
host=${ADDRESS%:*}
port=${ADDRESS##*:}
ip=$(getent ahosts "$host" 2>/dev/null | awk '$2 == "STREAM" && $1 ~ /^[0-9.]+$/ { print $1; exit }')
if [ -n "$ip" ]; then
  ADDRESS="$ip:$port"
fi

cluster_healthy() {
  temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1
}

namespace_exists() {
  temporal operator namespace describe --namespace "$NAMESPACE" --address "$ADDRESS" >/dev/null 2>&1
}

ensure_namespace() {
  namespace_exists ||
    temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$ADDRESS"
}

registered_attributes() {
  temporal operator search-attribute list --namespace "$NAMESPACE" --address "$ADDRESS" 2>/dev/null
}

# ensure_attribute NAME TYPE
ensure_attribute() {
  registered_attributes | grep -qw -- "$1" ||
    temporal operator search-attribute create --namespace "$NAMESPACE" --name "$1" --type "$2" --address "$ADDRESS"
}

all_attributes_listed() {
  listed=$(registered_attributes) || return 1
  for pair in $SEARCH_ATTRIBUTES; do
    printf '%s\n' "$listed" | grep -qw -- "${pair%%=*}" || return 1
  done
}

echo "Waiting for the Temporal cluster at $ADDRESS"
retry "cluster health" cluster_healthy

# A new namespace takes some seconds to reach the server's namespace cache, so the
# search attribute calls below are retried too.
retry "namespace $NAMESPACE" ensure_namespace
for pair in $SEARCH_ATTRIBUTES; do
  retry "search attribute ${pair%%=*}" ensure_attribute "${pair%%=*}" "${pair#*=}"
done
# Do not let api and worker start before the frontend knows every attribute: until
# then it rejects workflows started with them.
retry "search attributes to become visible" all_attributes_listed

echo "Namespace $NAMESPACE is ready with search attributes: $SEARCH_ATTRIBUTES"
