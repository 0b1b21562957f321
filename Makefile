# leadsync: build, test, install as a systemd service.
#   make build            ./leadsync, version from git describe
#   make test             every test, with the race detector (what CI runs)
#   sudo make install     systemd/install.sh: binary, user, unit, config (see its --help)
#   sudo make uninstall   remove binary and unit; keeps config, credentials and state
# Packaging: make install DESTDIR=/tmp/pkg PREFIX=/usr

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO      ?= go
PREFIX  ?= /usr/local
DESTDIR ?=
BINARY  ?= leadsync

export PREFIX DESTDIR

.PHONY: all build test vet install uninstall clean

all: build

build:
	$(GO) build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BINARY) ./cmd/leadsync

test:
	$(GO) test -race ./...

vet:
	$(GO) vet ./...

# Installs ./leadsync when it exists (run `make build` first, as yourself:
# root's PATH often has no go), otherwise builds it.
install:
	sh systemd/install.sh $(wildcard $(BINARY))

uninstall:
	sh systemd/install.sh --uninstall

clean:
	rm -f $(BINARY)
