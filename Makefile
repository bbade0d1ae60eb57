# sfgit — the two commands of the README: `make demo` and `make test`.
# Both first install what is missing on a Debian machine (as root), then build.

SHELL      := /bin/bash
SWIFT      ?= swift
APT_PACKAGES := libgit2-dev libyaml-dev libsqlite3-dev pkg-config git openssh-client openssh-server lighttpd python3-venv
PY_MODULES := jsonschema yaml
VENV       := .build/venv

.PHONY: setup build test demo bench clean

## setup: install missing Debian packages and Python modules (skips what is present)
setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@python3 -c "import jsonschema, yaml" 2>/dev/null || pip install -q jsonschema pyyaml
	@# The MCP acceptance client (PyPI mcp) in a venv under the build folder; reinstalled when
	@# the requirements file changes. Tests/SFGitCLITests/MCPClientTests fails without it.
	@test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	@cmp -s scripts/requirements-test.txt $(VENV)/requirements.installed || \
	  { $(VENV)/bin/pip install -q -r scripts/requirements-test.txt && cp scripts/requirements-test.txt $(VENV)/requirements.installed; }

## build: debug build of the package, tests included
build: setup
	$(SWIFT) build --build-tests

## test: set up, build, run every test (and end with a plain "N passed, 0 failed" line)
test: build
	@set -o pipefail; $(SWIFT) test --skip-build 2>&1 | tee .build/test.log
	@n=$$(sed -n 's/.*Test run with \([0-9]*\) tests.* passed .*/\1/p' .build/test.log | tail -1); \
	  if [ -n "$$n" ]; then echo "$$n passed, 0 failed"; else echo "no test run found in the output" >&2; exit 1; fi

## demo: set up, build, run the main job end to end on a local store
demo: setup
	$(SWIFT) build --product sfgit
	@./scripts/demo.sh "$$($(SWIFT) build --show-bin-path)/sfgit"

## bench: release build (Swift runtime linked in, as for deployment), then print throughput
## figures next to their baselines
RELEASE := -c release --static-swift-stdlib
bench: setup
	$(SWIFT) build $(RELEASE) --product sfgit
	$(SWIFT) build $(RELEASE) --product sfgit-bench
	"$$($(SWIFT) build $(RELEASE) --show-bin-path)/sfgit-bench"

clean:
	rm -rf .build
