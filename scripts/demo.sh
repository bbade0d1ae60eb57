#!/usr/bin/env bash
# `make demo`: the memory-file and trust stories, end to end, with the built binary.
# (Sync is not built yet; once it is, this script will run the federation story instead.)
set -u
SFGIT="${1:?usage: demo.sh PATH-TO-SFGIT}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/sfgit-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT

sfgit() { "$SFGIT" "$@"; }
step() { printf '\n$ %s\n' "$*"; "$@"; echo "(exit $?)"; }

cp -R "$root/examples/store" "$work/store"
cd "$work"

echo "A store is a directory of memory files; this one is a copy of examples/store."
step sfgit check store

echo
echo "An agent writes a memory with a duplicate key and a local-time timestamp:"
mkdir -p store/memories/learning/2026/06
cat > store/memories/learning/2026/06/01KTV6204RYSC5XMTFWMX0JS9M.yaml <<'MEMORY'
---
schema: 1
id: 01KTV6204RYSC5XMTFWMX0JS9M
kind: learning
author: claude
host: build-07
recorded_at: 2026-06-11T13:11:11+02:00
tags: [demo]
---
title: first title
title: second title
MEMORY
step sfgit check store
echo
echo "The same check as GitHub annotations, as a store's CI prints it:"
step sfgit check --format github store
echo
echo "Fixing the duplicate key lets the parser read on, and it finds the timestamp:"
sed -i '/^title: second title$/d' store/memories/learning/2026/06/01KTV6204RYSC5XMTFWMX0JS9M.yaml
step sfgit check store
echo
echo "And as the JSON envelope scripts read:"
step sfgit check --json store/memories/learning/2026/06/01KTV6204RYSC5XMTFWMX0JS9M.yaml

echo
echo "Trust: the same store as a signed git history (test-only keys), verified from its introduction."
"$root/examples/build-history.sh" "$work/history" > "$work/intro.txt"
cat "$work/intro.txt"
introduction=$(sed -n 's/^introduction: //p' "$work/intro.txt")
signer=$(sed -n 's/^signer: //p' "$work/intro.txt")
step sfgit verify --repo "$work/history" --introduction "$introduction" --signer "$signer"
echo
echo "Someone with push access adds an unsigned commit that edits a memory:"
(
  cd "$work/history"
  export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$work" GIT_AUTHOR_DATE=2026-07-01T00:00:00Z GIT_COMMITTER_DATE=2026-07-01T00:00:00Z
  echo "instead: trust me" >> memories/note/2026/06/01KT134R00QQJM2S6R76FQCZ25.yaml
  git -c user.name=mallory -c user.email=mallory@example.invalid commit -qam "harmless fix"
)
step sfgit verify --repo "$work/history" --introduction "$introduction" --signer "$signer"
