# sfgit — the two commands of the README: `make demo` and `make test`.
# Both first install what is missing on a Debian machine (as root), then build. The Swift
# toolchain is not a Debian package: install it first (see README.md, "The two commands").

SHELL      := /bin/bash
SWIFT      ?= swift
APT_PACKAGES := libgit2-dev libyaml-dev libsqlite3-dev pkg-config git openssh-client openssh-server lighttpd \
                gitolite3 python3 python3-venv
# The tests' Python packages live in a virtual environment under the build folder, made from
# scripts/requirements-test.txt (Debian's own pip refuses to install into the system Python).
VENV       := .build/venv
PY_REQUIREMENTS := scripts/requirements-test.txt

.PHONY: setup swift-toolchain apt-packages build test demo bench mutants install deb clean

## setup: check the Swift toolchain, install missing Debian packages, make the tests' Python
## virtual environment (each step skips what is present)
setup: swift-toolchain apt-packages $(VENV)/.installed

swift-toolchain:
	@command -v $(SWIFT) >/dev/null 2>&1 || { \
	  echo "setup: no Swift toolchain: '$(SWIFT)' is not on PATH." >&2; \
	  echo "  sfgit needs Swift 6.3 or later, which Debian does not package: install the Debian 12 toolchain" >&2; \
	  echo "  from https://www.swift.org/install/linux/ (or swiftly), put its usr/bin on PATH, or run make SWIFT=/path/to/swift." >&2; \
	  exit 1; }
	@v=$$($(SWIFT) --version 2>&1 | sed -n 's/.*Swift version \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -1); \
	  set -- $$v; if [ -z "$$1" ] || [ "$$1" -lt 6 ] || { [ "$$1" -eq 6 ] && [ "$$2" -lt 3 ]; }; then \
	    echo "setup: $(SWIFT) is Swift '$$1.$$2'; sfgit needs Swift 6.3 or later (https://www.swift.org/install/linux/)" >&2; exit 1; fi

apt-packages:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Remade when the requirements change.
$(VENV)/.installed: $(PY_REQUIREMENTS) | apt-packages
	@test -x $(VENV)/bin/python3 || python3 -m venv $(VENV)
	$(VENV)/bin/python3 -m pip install -q --disable-pip-version-check -r $(PY_REQUIREMENTS)
	@touch $@

## build: debug build of the package, tests included (and swift-argument-parser's
## generate-manual, which InstallTests run `make install` with)
build: setup
	$(SWIFT) build --build-tests
	$(SWIFT) build --product generate-manual

## test: set up, build, run every test, and end with a plain "N passed, M failed, K skipped" line
## (skipped: tests whose condition, such as running as root, does not hold here)
test: build
	@set -o pipefail; PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SWIFT) test --skip-build 2>&1 | tee .build/test.log; \
	  status=$$?; ./scripts/test-summary.sh .build/test.log && exit $$status

## demo: set up, build, run the main job end to end on a local store
demo: setup
	$(SWIFT) build --product sfgit
	$(SWIFT) build --product sfgit-network
	@./scripts/demo.sh "$$($(SWIFT) build --show-bin-path)/sfgit"

## bench: release build (Swift runtime linked in, as for deployment), then print throughput
## figures next to their baselines
RELEASE := -c release --static-swift-stdlib
bench: setup
	$(SWIFT) build $(RELEASE) --product sfgit
	$(SWIFT) build $(RELEASE) --product sfgit-network
	$(SWIFT) build $(RELEASE) --product sfgit-bench
	"$$($(SWIFT) build $(RELEASE) --show-bin-path)/sfgit-bench"

## mutants: break each security rule and documented promise in turn (mutants/*.patch) on a
## scratch copy of the tree and check that its tests then fail; not part of `make test`
mutants: setup
	@SWIFT=$(SWIFT) ./scripts/mutants.sh $(MUTANTS)

## install: release build (Swift runtime linked in), then the binary and its network helper,
## man page, completions, systemd units and crontab example under $(DESTDIR)$(PREFIX)
## (scripts/install.sh). SFGIT_BINARY= (with sfgit-network beside it) and GENERATE_MANUAL=
## install already-built ones instead of building.
PREFIX  ?= /usr/local
DESTDIR ?=
install:
	@bin="$(SFGIT_BINARY)"; manual="$(GENERATE_MANUAL)"; \
	if [ -z "$$bin" ]; then $(SWIFT) build $(RELEASE) --product sfgit && $(SWIFT) build $(RELEASE) --product sfgit-network \
	  && bin="$$($(SWIFT) build $(RELEASE) --show-bin-path)/sfgit"; fi; \
	if [ -z "$$manual" ]; then $(SWIFT) build --product generate-manual && manual="$$($(SWIFT) build --show-bin-path)/generate-manual"; fi; \
	SFGIT="$$bin" GENERATE_MANUAL="$$manual" PREFIX="$(PREFIX)" DESTDIR="$(DESTDIR)" ./scripts/install.sh

## deb: the same files as a Debian package, .build/sfgit.deb (scripts/deb.sh); depends on
## Debian's libgit2, libyaml, SQLite and openssh-client. SFGIT_BINARY= and GENERATE_MANUAL= as for install.
DEB ?= .build/sfgit.deb
deb:
	@bin="$(SFGIT_BINARY)"; manual="$(GENERATE_MANUAL)"; \
	if [ -z "$$bin" ]; then $(SWIFT) build $(RELEASE) --product sfgit && $(SWIFT) build $(RELEASE) --product sfgit-network \
	  && bin="$$($(SWIFT) build $(RELEASE) --show-bin-path)/sfgit"; fi; \
	if [ -z "$$manual" ]; then $(SWIFT) build --product generate-manual && manual="$$($(SWIFT) build --show-bin-path)/generate-manual"; fi; \
	SFGIT="$$bin" GENERATE_MANUAL="$$manual" OUTPUT="$(DEB)" ./scripts/deb.sh

clean:
	rm -rf .build
