#!/usr/bin/env bash
# Turns examples/store into a signed git history, as a store's maintainers would build it:
# an introduction signed by admin@hq (policy, allowed_signers, README), then one commit per
# memory signed by the principal its front matter names. Uses the plain git CLI and the
# test-only keys of examples/keys.
#
#   examples/build-history.sh DIR      → a repository in DIR; prints the introduction
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build-history.sh DIR}"
[ -e "$out" ] && { echo "build-history.sh: $out exists" >&2; exit 2; }

keys="$(mktemp -d "${TMPDIR:-/tmp}/sfgit-keys.XXXXXX")"
trap 'rm -rf "$keys"' EXIT
cp "$here"/keys/* "$keys"/ && chmod 600 "$keys"/*   # ssh-keygen refuses world-readable private keys

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null HOME="$keys"
export GIT_AUTHOR_DATE=2026-07-01T00:00:00Z GIT_COMMITTER_DATE=2026-07-01T00:00:00Z
git init -q -b main "$out"
cd "$out"
commit() {  # commit MESSAGE PRINCIPAL
  GIT_AUTHOR_NAME="$2" GIT_AUTHOR_EMAIL="$2" GIT_COMMITTER_NAME="$2" GIT_COMMITTER_EMAIL="$2" \
    git -c gpg.format=ssh -c user.signingkey="$keys/$2" commit -q -S -m "$1"
}

mkdir -p .sfgit
cp "$here/store/.sfgit/policy.yaml" "$here/store/.sfgit/allowed_signers" .sfgit/
cp "$here/store/README.md" README.md
git add -A
commit "sfgit: introduction" admin@hq

# One commit per memory, oldest id first, signed by its own author@host.
(cd "$here/store" && find memories -name '*.yaml' | awk -F/ '{print $NF "\t" $0}' | sort | cut -f2) | while read -r path; do
  author=$(sed -n 's/^author: *//p' "$here/store/$path" | head -1)
  host=$(sed -n 's/^host: *//p' "$here/store/$path" | head -1)
  mkdir -p "$(dirname "$path")"
  cp "$here/store/$path" "$path"
  git add "$path"
  commit "sfgit: remember $(basename "$path" .yaml)" "$author@$host"
done

echo "introduction: $(git rev-list --max-parents=0 HEAD)"
echo "signer: $(ssh-keygen -l -E sha256 -f "$here/keys/admin@hq.pub" | cut -d' ' -f2)"
