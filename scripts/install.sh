#!/bin/sh
# Installs sfgit under $DESTDIR$PREFIX (make install): the binary and its network helper
# (libexec/sfgit/sfgit-network, where sfgit looks for it), a man page generated from the
# same help text as --help (swift-argument-parser's generate-manual), bash, zsh and fish
# completions, the systemd units (system and user) and the crontab line, their paths pointed at
# the installed binary.
#   SFGIT            the sfgit binary to install
#   SFGIT_NETWORK    the sfgit-network helper (default: the one beside SFGIT)
#   GENERATE_MANUAL  swift-argument-parser's generate-manual tool
set -eu
: "${SFGIT:?the sfgit binary to install}" "${GENERATE_MANUAL:?the generate-manual tool}"
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
root="$DESTDIR$PREFIX"
source_dir=$(cd "$(dirname "$0")/.." && pwd)
SFGIT_NETWORK=${SFGIT_NETWORK:-$(dirname "$SFGIT")/sfgit-network}
[ -x "$SFGIT_NETWORK" ] || { echo "install: no sfgit-network helper at $SFGIT_NETWORK (build it: swift build --product sfgit-network)" >&2; exit 1; }

install -d "$root/bin" "$root/share/man/man1" "$root/share/bash-completion/completions" \
  "$root/share/zsh/site-functions" "$root/share/fish/vendor_completions.d" \
  "$root/lib/systemd/system" "$root/lib/systemd/user" "$root/share/doc/sfgit/examples/cron" "$root/libexec/sfgit"
install -m 0755 "$SFGIT" "$root/bin/sfgit"
install -m 0755 "$SFGIT_NETWORK" "$root/libexec/sfgit/sfgit-network"

manual=$(mktemp -d)
trap 'rm -rf "$manual"' EXIT
"$GENERATE_MANUAL" "$root/bin/sfgit" --output-directory "$manual"
# generate-manual passes the help's paragraphs through as plain text: a blank line between them
# becomes a paragraph break (.Pp), where man would warn about an empty input line.
sed -e 's/^$/.Pp/' "$manual/sfgit.1" > "$manual/sfgit.1.fixed"
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
echo "installed sfgit in $root (binary, network helper, man page, completions, systemd units, crontab example)"
