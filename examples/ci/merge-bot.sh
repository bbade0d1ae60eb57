#!/bin/sh
# The merge bot's command path: merge approved proposals with the bot's own `review` key.
#
#   merge-bot.sh PRINCIPAL=TIP...
#
# Each argument names a proposal branch (sfgit/proposals/PRINCIPAL) and the exact commit a
# reviewer approved; `sfgit review merge --expect-tip` refuses a branch that moved since (exit 6),
# so nothing unapproved rides along. The merge is an SSH-signed merge commit checked with the
# verifier as every host will check it, pushed as a fast-forward of the shared branch; the forge
# then marks the pull request merged, since its head is reachable from the base branch.
#
# Environment (set by the CI job from its secrets and variables, never from the pull request):
#   SFGIT_REMOTE         the store's URL, which the bot's SSH key may push the shared branch of
#   SFGIT_INTRODUCTION   the store's introduction commit
#   SFGIT_SIGNER         the introduction's SHA256: fingerprint
#   SFGIT_BOT_PRINCIPAL  the bot's principal, e.g. merge-bot@ci (an admin ran
#                        `sfgit trust add merge-bot@ci bot.pub --role review`)
#   SFGIT_BOT_KEY        the path of the bot's private key (signs, and authenticates over SSH)
#   SFGIT                the sfgit executable (default: sfgit on PATH)
# Exits 0 when every proposal is merged (or already was), else with the last failure's code.
set -eu

: "${SFGIT_REMOTE:?}" "${SFGIT_INTRODUCTION:?}" "${SFGIT_SIGNER:?}" "${SFGIT_BOT_PRINCIPAL:?}" "${SFGIT_BOT_KEY:?}"
sfgit="${SFGIT:-sfgit}"

SFGIT_AUTHOR="${SFGIT_BOT_PRINCIPAL%@*}"
SFGIT_HOST="${SFGIT_BOT_PRINCIPAL#*@}"
SFGIT_SIGNING_KEY="$SFGIT_BOT_KEY"
SFGIT_HOME="${SFGIT_HOME:-${RUNNER_TEMP:-/tmp}/sfgit-merge-bot}"
export SFGIT_AUTHOR SFGIT_HOST SFGIT_SIGNING_KEY SFGIT_HOME

# A fresh job joins the store pinned to its introduction; a cached home only syncs.
if [ ! -f "$SFGIT_HOME/config.yaml" ]; then
    "$sfgit" clone "$SFGIT_REMOTE" --introduction "$SFGIT_INTRODUCTION" --signer "$SFGIT_SIGNER" --store store
fi

status=0
for request in "$@"; do
    principal="${request%%=*}"
    tip="${request#*=}"
    # Branch names come from the forge: only well-formed principals and commit ids go further.
    if ! printf '%s\n' "$principal" | grep -Eq '^[a-z0-9._-]+@[a-z0-9._-]+$' \
        || ! printf '%s\n' "$tip" | grep -Eq '^[0-9a-f]{40}$'; then
        echo "merge-bot: skipping malformed request '$request' (PRINCIPAL=40-hex-commit)" >&2
        status=2
        continue
    fi
    code=0
    "$sfgit" review merge "$principal" --expect-tip "$tip" --push --store store || code=$?
    if [ "$code" -ne 0 ]; then
        echo "merge-bot: sfgit/proposals/$principal not merged (exit $code)" >&2
        status=$code
    fi
done
exit $status
