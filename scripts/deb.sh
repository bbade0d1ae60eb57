#!/bin/sh
# Builds a Debian package of sfgit (make deb): scripts/install.sh with PREFIX=/usr into a staging
# tree, a control file, dpkg-deb. The binary should be the release build with the Swift runtime
# linked in (make deb builds it so): it then depends only on Debian's libgit2, libyaml, SQLite
# and the OpenSSH client (ssh-keygen signs with keys sfgit does not sign natively).
#   SFGIT, SFGIT_NETWORK, GENERATE_MANUAL  as for scripts/install.sh
#   OUTPUT                  the .deb to write
set -eu
: "${SFGIT:?the sfgit binary to package}" "${GENERATE_MANUAL:?the generate-manual tool}" "${OUTPUT:?the .deb to write}"
source_dir=$(cd "$(dirname "$0")/.." && pwd)
version=$("$SFGIT" --version)
arch=$(dpkg --print-architecture)
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
SFGIT="$SFGIT" SFGIT_NETWORK="${SFGIT_NETWORK:-}" GENERATE_MANUAL="$GENERATE_MANUAL" PREFIX=/usr DESTDIR="$staging" "$source_dir/scripts/install.sh" >/dev/null
install -d "$staging/DEBIAN"
cat > "$staging/DEBIAN/control" <<CONTROL
Package: sfgit
Version: $version
Architecture: $arch
Maintainer: sfgit maintainers <sfgit@example.invalid>
Depends: libgit2-1.5, libyaml-0-2, libsqlite3-0, openssh-client
Section: devel
Priority: optional
Description: share AI-agent memories through a signed git repository
 sfgit shares what AI-agent instances learn as small SSH-signed YAML files in a
 git repository, verifies every commit, and answers recall from a local cache.
CONTROL
dpkg-deb --root-owner-group --build "$staging" "$OUTPUT" >/dev/null
echo "built $OUTPUT (sfgit $version, $arch)"
