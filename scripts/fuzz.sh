#!/usr/bin/env bash
# Runs every fuzz target in the module for FUZZTIME each (default 10s),
# stopping at the first failure. Targets are found, not listed, so a new
# Fuzz function is run without editing this file. A failing input is
# written under the package's testdata/fuzz; commit it as a regression seed.
set -euo pipefail

cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-10s}"
# Minimizing a new input may take 60s by default, which would eat a short
# run (an 8 KB credential that must stay over the size limit is slow to
# shrink); a few seconds keep the run fuzzing.
minimize="${FUZZMINIMIZETIME:-5s}"

targets=$(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . | sort | while read -r file; do
	grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed "s|^func |$(dirname "$file") |"
done)
if [ -z "$targets" ]; then
	echo "fuzz.sh: no fuzz targets found" >&2
	exit 1
fi

while read -r dir name; do
	echo "--- fuzz ${name} (${dir}, ${fuzztime})"
	corpus="${dir}/testdata/fuzz/${name}"
	before=$({ ls "$corpus" 2>/dev/null || true; } | wc -l)
	log=$(mktemp)
	# -fuzz takes one target per run; anchor it so FuzzX does not match FuzzXY.
	if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimize" "${dir}" 2>&1 | tee "$log"; then
		rm -f "$log"
		continue
	fi
	after=$({ ls "$corpus" 2>/dev/null || true; } | wc -l)
	# Go 1.26's coordinator can fail a run whose -fuzztime duration ran out
	# while a worker was mid-input (go.dev/issue/75804, fixed in 1.27): a
	# bare "context deadline exceeded" with no failing input written.
	if [ "$after" -eq "$before" ] && grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
		echo "fuzz.sh: ${name}: the fuzz coordinator's deadline race (go.dev/issue/75804), not a failing input"
		rm -f "$log"
		continue
	fi
	rm -f "$log"
	exit 1
done <<<"$targets"
echo "fuzz.sh: every target ran clean for ${fuzztime}"
