#!/usr/bin/env bash
# `make mutants`: proves that the tests fail when the product is wrong. Each mutants/NN-name.patch
# breaks one security rule or documented promise; its header names the rule and the tests that
# must then fail:
#   # rule: what the patch breaks
#   # filter: a `swift test --filter` regular expression
# The script copies the working tree (without .build) to a scratch package, builds it once
# unchanged and runs every filter there (each must pass and run at least one test), then for
# each patch in turn: apply, build incrementally, run its filter, revert. A mutant is "killed"
# when its tests fail, "SURVIVED" when they pass. Exits 1 if any survived or errored.
#
#   scripts/mutants.sh [PATTERN]     only the patches whose file name matches PATTERN
# Environment: SWIFT (default swift), MUTANTS_DIR (default .build/mutants), MUTANT_TIMEOUT
# (seconds per test run, default 900).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
SWIFT="${SWIFT:-swift}"
work="${MUTANTS_DIR:-$root/.build/mutants}"
src="$work/src"
timeout_s="${MUTANT_TIMEOUT:-900}"
pattern="${1:-}"
mkdir -p "$src"

header() { sed -n "s/^# $2: *//p" "$1" | head -1; }

# Copy the tree into the scratch package, touching only files that differ, so that the scratch
# build stays incremental from one run to the next.
sync_tree() {
  (cd "$root" && git ls-files -co --exclude-standard -z) | while IFS= read -r -d '' f; do
    case "$f" in mutants/*) continue ;; esac
    if [ -L "$root/$f" ]; then
      [ "$(readlink "$src/$f" 2>/dev/null)" = "$(readlink "$root/$f")" ] || { mkdir -p "$(dirname "$src/$f")"; rm -f "$src/$f"; cp -P "$root/$f" "$src/$f"; }
    elif [ -f "$root/$f" ] && ! cmp -s "$root/$f" "$src/$f"; then
      mkdir -p "$(dirname "$src/$f")"; rm -f "$src/$f"; cp -p "$root/$f" "$src/$f"
    fi
  done
  # Files gone from the tree go from the copy too.
  (cd "$src" && find . -path ./.build -prune -o \( -type f -o -type l \) -print | sed 's|^\./||') | while IFS= read -r f; do
    [ -e "$root/$f" ] || [ -L "$root/$f" ] || rm -f "$src/$f"
  done
  # The dependencies this checkout already resolved, instead of fetching them again.
  if [ ! -d "$src/.build/checkouts" ] && [ -d "$root/.build/checkouts" ]; then
    mkdir -p "$src/.build"
    cp -a "$root/.build/checkouts" "$root/.build/repositories" "$src/.build/" 2>/dev/null || true
    cp -p "$root/.build/workspace-state.json" "$src/.build/" 2>/dev/null || true
  fi
  [ -f "$root/Package.resolved" ] && cp -p "$root/Package.resolved" "$src/Package.resolved"
  # The tests' Python environment (schema agreement) lives in the build folder.
  [ -d "$root/.build/venv" ] && [ ! -e "$src/.build/venv" ] && ln -s "$root/.build/venv" "$src/.build/venv"
  return 0
}

build() { (cd "$src" && "$SWIFT" build --build-tests >"$1" 2>&1); }

# Runs the tests matching a filter; prints how many ran; returns swift test's status.
run_tests() {
  local filter="$1" log="$2"
  (cd "$src" && timeout --kill-after=30 "$timeout_s" "$SWIFT" test --skip-build --filter "$filter" >"$log" 2>&1)
  local status=$?
  ran=$(sed -nE 's/.*Test run with ([0-9]+) tests?.*/\1/p' "$log" | tail -1)
  ran="${ran:-0}"
  return $status
}

patches=()
for p in "$root"/mutants/*.patch; do
  [ -e "$p" ] || continue
  [ -z "$pattern" ] || [[ "$(basename "$p")" == *$pattern* ]] || continue
  patches+=("$p")
done
[ ${#patches[@]} -gt 0 ] || { echo "no mutants/*.patch${pattern:+ matching $pattern}" >&2; exit 2; }

echo "mutants: syncing the tree into $src"
sync_tree
applied=""
revert() { [ -n "$applied" ] && (cd "$src" && patch -p1 -R --quiet --no-backup-if-mismatch <"$applied" >/dev/null); applied=""; }
trap 'revert' EXIT INT TERM

echo "mutants: building the unchanged tree (log: $work/baseline-build.log)"
start=$(date +%s)
build "$work/baseline-build.log" || { echo "the unchanged tree does not build; see $work/baseline-build.log" >&2; exit 2; }
echo "mutants: built in $(( $(date +%s) - start )) s; running every filter on it"
filters=()
for p in "${patches[@]}"; do filters+=("$(header "$p" filter)"); done
all=$(IFS='|'; echo "${filters[*]}")
if ! run_tests "$all" "$work/baseline-test.log"; then
  echo "the unchanged tree fails its mutants' tests; see $work/baseline-test.log" >&2; exit 2
fi
[ "$ran" -gt 0 ] || { echo "the filters run no test on the unchanged tree; see $work/baseline-test.log" >&2; exit 2; }
echo "mutants: the unchanged tree passes ($ran tests)"

rows=()
bad=0
for p in "${patches[@]}"; do
  name="$(basename "$p" .patch)"
  rule="$(header "$p" rule)"
  filter="$(header "$p" filter)"
  log="$work/$name"
  if ! (cd "$src" && patch -p1 --forward --quiet --no-backup-if-mismatch <"$p" >"$log.patch.log" 2>&1); then
    rows+=("$name"$'\t'"ERROR: does not apply"$'\t'"-"$'\t'"$rule"); bad=1; continue
  fi
  applied="$p"
  start=$(date +%s)
  if ! build "$log.build.log"; then
    result="ERROR: does not build"; bad=1; ran=0
  else
    built=$(( $(date +%s) - start ))
    if run_tests "$filter" "$log.test.log"; then
      if [ "$ran" -eq 0 ]; then result="ERROR: no test ran"; else result="SURVIVED"; fi
      bad=1
    elif [ "$ran" -gt 0 ]; then
      result="killed"
    else
      result="killed (the test process crashed)"
    fi
    result="$result (build ${built}s, test $(( $(date +%s) - start - built ))s)"
  fi
  revert
  rows+=("$name"$'\t'"$result"$'\t'"$filter"$'\t'"$rule")
  echo "  $name: $result"
done

echo
printf '| %s | %s | %s | %s |\n' "mutant" "result" "tests (filter)" "rule broken"
printf '|---|---|---|---|\n'
# Rows are tab-separated: a filter holds '|', written '\|' inside the Markdown table.
for r in "${rows[@]}"; do IFS=$'\t' read -r a b c d <<<"$r"; printf '| %s | %s | `%s` | %s |\n' "$a" "$b" "${c//|/\\|}" "$d"; done
exit $bad
