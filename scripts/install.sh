#!/bin/sh
# Installs sfgit under $DESTDIR$PREFIX (make install): the binary, a man page generated from the
# same help text as --help (swift-argument-parser's generate-manual), bash, zsh and fish
# completions, the systemd units (system and user) and the crontab line, their paths pointed at
# the installed binary.
#   SFGIT            the sfgit binary to install
#   GENERATE_MANUAL  swift-argument-parser's generate-manual tool
set -eu
: "${SFGIT:?the sfgit binary to install}" "${GENERATE_MANUAL:?the generate-manual tool}"
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
root="$DESTDIR$PREFIX"
source_dir=$(cd "$(dirname "$0")/.." && pwd)

install -d "$root/bin" "$root/share/man/man1" "$root/share/bash-completion/completions" \
  "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d" \
  "$root/lib/systemd/system" "$root/lib/systemd/user" "$root/share/doc/sfgit/examples/cron"
install -m 0755 "$SFGIT" "$root/bin/sfgit"

manual=$(mktemp -d)
trap 'rm -rf "$manual"' EXIT
"$GENERATE_MANUAL" "$root/bin/sfgit" --output-directory "$manual"
# generate-manual passes the help's paragraphs through as plain text: a blank line between them
# becomes a paragraph break (.Pp), where man would warn about an empty input line. It also lists
# hidden subcommands: the internal `_remote` step (from its `.It Em _remote` entry up to the next
# subcommand's) is not for people.
sed -e 's/^$/.Pp/' "$manual/sfgit.1" \
  | awk '/^\.It Em _remote$/ { hidden = 1; next } hidden && /^\.It Em / { hidden = 0 } !hidden' > "$manual/sfgit.1.fixed"
install -m 0644 "$manual/sfgit.1.fixed" "$root/share/man/man1/sfgit.1"

"$root/bin/sfgit" completion bash > "$root/share/bash-completion/completions/sfgit"
"$root/bin/sfgit" completion zsh > "$root/share/zsh/site-functions/_sfgit"
"$root/bin/sfgit" completion fish > "$root/share/fish/vendor_completions.d/sfgit.fish"

# The units and the crontab name the binary by its absolute path: where it now is.
for variant in system user; do
  for unit in sfgit-sync.service sfgit-sync.timer; do
    sed "s#/usr/local/bin/sfgit#$PREFIX/bin/sfgit#g" "$source_dir/examples/systemd/$variant/$unit" > "$root/lib/systemd/$variant/$unit"
    chmod 0644 "$root/lib/systemd/$variant/$unit"
  done
done
sed "s#/usr/local/bin/sfgit#$PREFIX/bin/sfgit#g" "$source_dir/examples/cron/sfgit.crontab" > "$root/share/doc/sfgit/examples/cron/sfgit.crontab"
echo "installed sfgit in $root (binary, man page, completions, systemd units, crontab example)"
