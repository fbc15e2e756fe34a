#!/usr/bin/env bash
# Builds the scratch image, makes a CA and node certificates, starts the
# compose cluster (three voters, two non-voters) with TLS, checks it is
# green with 5 nodes (two of them non-voters), refuses plain HTTP and has
# an audit log in every node, stops one voter and checks writes still work.
set -euo pipefail
cd "$(dirname "$0")/.."
project="tokenstore-ci-$$"
port="${TOKENSTORE_PORT:-19200}"
export TOKENSTORE_PORT="$port" ELASTIC_PASSWORD="ci-docker-pass"
certs=""
compose() { docker-compose -p "$project" -f docker-compose.yml "$@"; }
cleanup() {
  status=$?
  if [ $status -ne 0 ]; then compose logs --no-color | tail -50 || true; fi
  compose down -v --remove-orphans >/dev/null 2>&1 || true
  [ -n "$certs" ] && rm -rf "$certs"
  exit $status
}
trap cleanup EXIT

[ -x bin/tokenstore ] || { echo "bin/tokenstore missing: run make build"; exit 1; }
certs=$(mktemp -d)
bin/tokenstore certs ca --out "$certs" >/dev/null
for i in 0 1 2 3 4; do
  bin/tokenstore certs node --ca "$certs" --name "node-$i" --hosts "node-$i,localhost,127.0.0.1" --out "$certs" >/dev/null
done
chmod 0755 "$certs"
export TOKENSTORE_CERTS="$certs"
docker build -q -t tokenstore:dev . >/dev/null
compose up -d --no-build

url="https://127.0.0.1:$port"
curl() { command curl --cacert "$certs/ca.crt" "$@"; }
auth="elastic:$ELASTIC_PASSWORD"
wait_for() { # description, then a command that must succeed
  local what=$1; shift
  for _ in $(seq 1 120); do
    if "$@" >/dev/null 2>&1; then echo "ok: $what"; return 0; fi
    sleep 0.5
  done
  echo "FAILED: $what"; return 1
}
green5() { curl -fsS -u "$auth" "$url/_cluster/health" | grep -q '"status":"green".*"number_of_nodes":5'; }
wait_for "cluster green with 5 nodes" green5
two_non_voters() { [ "$(curl -fsS -u "$auth" "$url/_cat/nodes?format=json" | grep -o '"node.role":"d"' | wc -l)" = 2 ]; }
wait_for "_cat/nodes shows two non-voters (role d)" two_non_voters
if command curl -fsS -u "$auth" "http://127.0.0.1:$port/" >/dev/null 2>&1; then echo "FAILED: plain HTTP answered"; exit 1; fi
echo "ok: plain HTTP refused"
# The header of docker-compose.yml says the audit log is on in every node:
# each opens its file at start (the image has no shell: docker cp reads it).
for i in 0 1 2 3 4; do
  docker cp "$(compose ps -q "node-$i")":/data/logs/tokenstore_audit.json - >/dev/null ||
    { echo "FAILED: node-$i has no audit log"; exit 1; }
done
echo "ok: every node writes its audit log"

compose stop -t 10 node-2
put_role() { curl -fsS -u "$auth" -X PUT "$url/_security/role/after-stop" -H 'Content-Type: application/json' -d '{"cluster":["monitor"]}'; }
wait_for "write accepted with one node stopped" put_role
yellow4() { curl -fsS -u "$auth" "$url/_cluster/health" | grep -q '"status":"yellow".*"number_of_nodes":4'; }
wait_for "health yellow with 4 nodes" yellow4
curl -fsS -u "$auth" "$url/_security/role/after-stop" | grep -q '"monitor"'
echo "docker-compose test passed"
