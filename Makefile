GO ?= go
PREFIX ?= /usr/local
DESTDIR ?=
# A release tag if there is one, else the version of debian/changelog.
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || dpkg-parsechangelog -S Version 2>/dev/null || sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
UNITDIR ?= $(PREFIX)/lib/systemd/system
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -X main.version=$(VERSION)"
# Go lives in /usr/local/go on the machines this is developed on; a shell
# that has not put it on PATH still runs every target.
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test test-deps test-roots test-pure fuzz demo bench bench-quick install uninstall clean fmt vet deb docs

all: build

build:
	# Static, without cgo: no dynamic loader at every start (~0.9 ms here).
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o bin/runctl ./cmd/runctl
	$(GO) build -trimpath -o bin/runctl-sandbox ./cmd/runctl-sandbox

# Every test: pure, integration (systemdctl against a sandboxed systemd) and
# CLI (the built binary in the sandbox), and beside them every fuzz target for a
# bounded count. Needs root; installs the Debian packages it needs first, and
# fails if the sandbox cannot boot, so the systemd tests never skip silently.
# -parallel 4: the tests marked parallel mostly wait on their programs and
# on systemd, so more of them than cores overlap well (cmd/runctl bounds its
# own: RUNCTL_TEST_POOL, RUNCTL_TEST_SHARED). Not more packages at once than
# cores (-p 2): the suite is CPU-bound on 2 cores, and more at once only
# stretches the waits the timing-sensitive tests allow.
# The longest packages start first, so that the short ones fill the end.
TEST_FIRST = ./cmd/runctl ./ansible ./fleet ./packaging ./matrix ./systemdctl
# The tests' temporary files (t.TempDir) go to a folder of their own,
# removed after them: never the host's /tmp.
TESTTMP = export TMPDIR=$$(mktemp -d /var/tmp/runctl-tests.XXXXXX) && chmod 1777 "$$TMPDIR"
GOTEST = RUNCTL_SKIP_SYSTEMD= $(GO) test -count=1 -p 2 -parallel 4 -timeout 25m $(TEST_FIRST) ./...
test: test-deps test-roots vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@mkdir -p bin && scripts/host-untouched.sh snapshot bin/host-before
	@# The fuzz targets run beside the tests, on the CPU the tests' waits
	@# leave idle; their output follows the tests'.
	@$(TESTTMP); \
	$(MAKE) --no-print-directory fuzz > bin/fuzz.log 2>&1 & fuzz=$$!; \
	echo 'TMPDIR='$$TMPDIR' $(GOTEST)  (make fuzz beside it: bin/fuzz.log)'; \
	$(GOTEST); rc=$$?; \
	wait $$fuzz; frc=$$?; cat bin/fuzz.log; rm -rf "$$TMPDIR"; \
	if [ $$frc != 0 ]; then echo "make fuzz failed (exit $$frc)"; fi; \
	[ $$rc = 0 ] && [ $$frc = 0 ]
	scripts/host-untouched.sh check bin/host-before

test-deps:
	packaging/build-deps.sh test

# The Debian roots the version matrix (matrix/) boots, built once with
# debootstrap into a cache outside the clone (sandbox.RootCache), side by
# side, before the tests: on a fresh machine a few minutes, then nothing.
MATRIX_SUITES ?= bullseye trixie sid
test-roots:
	$(GO) build -trimpath -o bin/runctl-sandbox ./cmd/runctl-sandbox
	pids=; for s in $(MATRIX_SUITES); do bin/runctl-sandbox --suite $$s --root-only & pids="$$pids $$!"; done; \
	for p in $$pids; do wait $$p || exit 1; done

# Every fuzz target for a bounded number of inputs (make test ends with it). A crasher is written to testdata/fuzz/ and, committed, runs as a
# regular test from then on. Counts, not seconds: Go 1.26 can fail a fuzz
# run that ends on its time limit (golang/go#75804). Each package's fuzz
# binary is built once and run per target, with go test's own cache of
# interesting inputs: a go test -fuzz per target rebuilt it every time.
FUZZTIME ?= 3000x
FUZZTIME_SYSTEMD ?= 300x
FUZZCACHE = $$($(GO) env GOCACHE)/fuzz/github.com/runctl/runctl
fuzz:
	mkdir -p bin/fuzz
	$(GO) test -c -fuzz=. -o bin/fuzz/units.test ./units
	$(GO) test -c -fuzz=. -o bin/fuzz/systemdctl.test ./systemdctl
	cd units && for t in FuzzEnvFileRoundTrip FuzzSanitizeName FuzzValidateName FuzzRenderUnitFile FuzzSpecJSON FuzzDuration FuzzProperty; do \
		../bin/fuzz/units.test -test.run=NONE -test.fuzz="^$$t\$$" -test.fuzztime=$(FUZZTIME) -test.fuzzcachedir=$(FUZZCACHE)/units || exit 1; \
	done
	cd systemdctl && ../bin/fuzz/systemdctl.test -test.run=NONE -test.fuzz='^FuzzUnitFileRoundTrip$$' -test.fuzztime=$(FUZZTIME_SYSTEMD) -test.fuzzcachedir=$(FUZZCACHE)/systemdctl

# Without root: the pure tests only; the systemd ones skip, saying so.
test-pure:
	$(TESTTMP); \
	RUNCTL_SKIP_SYSTEMD=1 $(GO) test -count=1 ./...; rc=$$?; rm -rf "$$TMPDIR"; exit $$rc

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# Boots a throwaway systemd and shows runctl at work in it.
demo: build
	bin/runctl-sandbox --bin bin -- sh -s < scripts/demo.sh

# runctl against systemd-run and systemctl, inside a throwaway systemd.
# Files written in the sandbox vanish with it, so the results leave it as
# JSON on stdout and are rendered here (docs/BENCHMARKS.md keeps its intro).
bench: build
	$(GO) build -trimpath -o bin/runctl-bench ./bench
	scripts/bench.sh bench/results.json
	bin/runctl-bench -report bench/results.json -md docs/BENCHMARKS.md

# A smoke run of the same (few repetitions, small sizes); keeps nothing.
bench-quick: build
	$(GO) build -trimpath -o bin/runctl-bench ./bench
	scripts/bench.sh bin/bench-quick.json -quick
	bin/runctl-bench -report bin/bench-quick.json

install: build
	install -D -m0755 bin/runctl $(DESTDIR)$(PREFIX)/bin/runctl
	install -d $(DESTDIR)$(MANDIR)/man1
	gzip -9n < packaging/man/runctl.1 > $(DESTDIR)$(MANDIR)/man1/runctl.1.gz
	chmod 0644 $(DESTDIR)$(MANDIR)/man1/runctl.1.gz
	install -D -m0644 packaging/completions/runctl.bash $(DESTDIR)$(BASHCOMPDIR)/runctl
	install -D -m0644 packaging/completions/_runctl $(DESTDIR)$(ZSHCOMPDIR)/_runctl
	install -D -m0644 packaging/completions/runctl.fish $(DESTDIR)$(FISHCOMPDIR)/runctl.fish
	# The operator service (README: Security), run from this runctl.
	install -D -m0644 packaging/systemd/runctl.operator.socket $(DESTDIR)$(UNITDIR)/runctl.operator.socket
	sed 's|^ExecStart=/usr/bin/runctl |ExecStart=$(PREFIX)/bin/runctl |' packaging/systemd/runctl.operator@.service > $(DESTDIR)$(UNITDIR)/runctl.operator@.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/runctl.operator@.service

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/runctl
	rm -f $(DESTDIR)$(MANDIR)/man1/runctl.1.gz
	rm -f $(DESTDIR)$(BASHCOMPDIR)/runctl $(DESTDIR)$(ZSHCOMPDIR)/_runctl $(DESTDIR)$(FISHCOMPDIR)/runctl.fish
	rm -f $(DESTDIR)$(UNITDIR)/runctl.operator.socket $(DESTDIR)$(UNITDIR)/runctl.operator@.service

# The man page and the shell completions, generated from the command line
# (a test fails when the copies in packaging/ are stale).
docs:
	$(GO) run ./cmd/runctl-gendocs

# dist/runctl_VERSION_ARCH.deb for each Debian architecture of ARCH, from
# debian/ (dpkg-buildpackage, cross-building the ones not the machine's, then
# lintian). `make deb ARCH=arm64` builds one. Installs the Debian packages it
# needs first (as root).
ARCH = amd64 arm64
deb:
	packaging/build-deps.sh $(ARCH)
	packaging/build-deb.sh $(ARCH)

clean:
	rm -rf bin dist
