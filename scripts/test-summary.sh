#!/usr/bin/env bash
# Prints "N passed, M failed, K skipped" from a `swift test` log (Swift Testing's output) and
# exits non-zero when a test failed, was never run, or no test run is in the log.
# Each test function ends with one line: "✔ Test NAME passed after …", "✘ Test NAME … failed
# after …", "➜ Test NAME skipped…"; the closing "Test run with N tests" line counts them all.
set -u
log="${1:?usage: test-summary.sh LOG}"
summary=$(grep -E 'Test run with [0-9]+ tests?' "$log" | tail -1)
if [ -z "$summary" ]; then
  echo "no test run found in $log" >&2
  exit 1
fi
total=$(sed -E 's/.*Test run with ([0-9]+) tests?.*/\1/' <<<"$summary")
# Per-test end lines; suites ("Suite …") and the run ("Test run …") are not tests.
skipped=$(grep -cE '^[^ ]+ Test .+ skipped' "$log")
failed=$(grep -E '^[^ ]+ Test .+ failed after' "$log" | grep -vcE 'Test run with')
passed=$(grep -E '^[^ ]+ Test .+ passed after' "$log" | grep -vcE 'Test run with')
echo "$passed passed, $failed failed, $skipped skipped"
if [ $((passed + failed + skipped)) -ne "$total" ]; then
  echo "the log's test lines ($passed + $failed + $skipped) do not add up to its $total tests" >&2
  exit 1
fi
[ "$failed" -eq 0 ] && ! grep -q 'failed after' <<<"$summary"
