GO ?= go
PREFIX ?= /usr/local
DESTDIR ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GOFLAGS_BUILD := -trimpath -ldflags "-s -w -X main.version=$(VERSION)"

.PHONY: all build test test-pure demo bench install uninstall clean fmt vet

all: build

build:
	$(GO) build $(GOFLAGS_BUILD) -o bin/runctl ./cmd/runctl
	$(GO) build -trimpath -o bin/runctl-sandbox ./cmd/runctl-sandbox

# Every test: pure, integration (systemdctl against a sandboxed systemd) and
# CLI (the built binary in the sandbox). Needs root; fails if the sandbox
# cannot boot, so the systemd tests never skip silently.
test: vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	RUNCTL_SKIP_SYSTEMD= $(GO) test -count=1 -timeout 15m ./...

# Without root: the pure tests only; the systemd ones skip, saying so.
test-pure:
	RUNCTL_SKIP_SYSTEMD=1 $(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# Boots a throwaway systemd and shows runctl at work in it.
demo: build
	bin/runctl-sandbox --bin bin -- sh scripts/demo.sh

install: build
	install -D -m0755 bin/runctl $(DESTDIR)$(PREFIX)/bin/runctl

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/runctl

clean:
	rm -rf bin dist
