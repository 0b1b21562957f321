#!/bin/sh
# Install leadsync as a systemd service: binary, user, unit, config,
# credentials directory. Safe to run again (an upgrade): the config, the
# credentials and the state are never overwritten.
#
#   sudo systemd/install.sh [--dry-run] [BINARY]
#   sudo systemd/install.sh --uninstall
#
# BINARY defaults to ./leadsync, then <repo>/leadsync; with neither, it is
# built with `go build ./cmd/leadsync`.
#
# Environment:
#   PREFIX      binary in $PREFIX/bin (default /usr/local). PREFIX=/usr also
#               puts the unit, sysusers.d and tmpfiles.d files under /usr/lib.
#   DESTDIR     stage into this directory (packaging): no root needed, no
#               user is created, nothing is chowned, systemctl is not run.
#   SYSCONFDIR  default /etc.
#   UNITDIR, SYSUSERSDIR, TMPFILESDIR  override where those files go.
set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
SYSCONFDIR=${SYSCONFDIR:-/etc}
if [ "$PREFIX" = /usr ]; then
	libdir=/usr/lib
else
	libdir=$SYSCONFDIR
fi
UNITDIR=${UNITDIR:-$libdir/systemd/system}
SYSUSERSDIR=${SYSUSERSDIR:-$libdir/sysusers.d}
TMPFILESDIR=${TMPFILESDIR:-$libdir/tmpfiles.d}
BINDIR=$PREFIX/bin
CONFDIR=$SYSCONFDIR/leadsync
DROPINDIR=$SYSCONFDIR/systemd/system/leadsync.service.d

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

dryrun=0
mode=install
binary=
while [ $# -gt 0 ]; do
	case $1 in
	-n | --dry-run) dryrun=1 ;;
	--uninstall) mode=uninstall ;;
	-h | --help)
		sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "install.sh: unknown option $1 (try --help)" >&2
		exit 2
		;;
	*)
		[ -z "$binary" ] || {
			echo "install.sh: one BINARY only" >&2
			exit 2
		}
		binary=$1
		;;
	esac
	shift
done

say() { printf '%s\n' "$*"; }
die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}
# run prints a command and runs it, unless --dry-run.
run() {
	say "+ $*"
	[ "$dryrun" = 1 ] || "$@"
}
# staged: DESTDIR set, so nothing outside it is touched.
staged() { [ -n "$DESTDIR" ]; }
# live: acting on this machine's running systemd.
live() { ! staged && [ -d /run/systemd/system ]; }

# put SRC DEST MODE: copy atomically (replacing a running binary is safe).
put() {
	say "+ install -m $3 $1 $2"
	[ "$dryrun" = 0 ] || return 0
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2.tmp.$$"
	chmod "$3" "$2.tmp.$$"
	mv -f "$2.tmp.$$" "$2"
}

# own OWNER PATH: chown, except in a staged install (tmpfiles.d fixes it on
# the target).
own() {
	staged || run chown "$1" "$2"
}

if ! staged && [ "$dryrun" = 0 ] && [ "$(id -u)" != 0 ]; then
	die "run as root (or --dry-run to see what it would do, or DESTDIR=DIR to stage)"
fi

if [ "$mode" = uninstall ]; then
	if live; then
		run systemctl disable --now leadsync.service || true
	fi
	run rm -f "$DESTDIR$BINDIR/leadsync" "$DESTDIR$UNITDIR/leadsync.service" \
		"$DESTDIR$SYSUSERSDIR/leadsync.conf" "$DESTDIR$TMPFILESDIR/leadsync.conf"
	if live; then
		run systemctl daemon-reload
	fi
	say ""
	say "leadsync is uninstalled. Kept, remove them yourself if you mean it:"
	say "  $CONFDIR/ (config and credentials)"
	say "  $DROPINDIR/"
	say "  /var/lib/leadsync/ (the database: leads not yet delivered live there)"
	say "  the leadsync user (userdel leadsync)"
	exit 0
fi

# 1. The binary.
tmpdir=
cleanup() { [ -z "$tmpdir" ] || rm -rf "$tmpdir"; }
trap cleanup EXIT
if [ -z "$binary" ]; then
	for c in ./leadsync "$root/leadsync"; do
		if [ -f "$c" ] && [ -x "$c" ]; then
			binary=$c
			break
		fi
	done
fi
if [ -z "$binary" ]; then
	command -v go >/dev/null 2>&1 ||
		die "no ./leadsync to install and no go to build it: run 'make build' first (as yourself), or pass the binary's path"
	[ -f "$root/go.mod" ] || die "no ./leadsync and no source tree at $root to build it from"
	version=$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)
	tmpdir=$(mktemp -d)
	binary=$tmpdir/leadsync
	say "+ (cd $root && go build -trimpath -ldflags '-X main.version=$version' -o $binary ./cmd/leadsync)"
	if [ "$dryrun" = 0 ]; then
		(cd "$root" && go build -trimpath -ldflags "-X main.version=$version" -o "$binary" ./cmd/leadsync)
	fi
elif [ ! -f "$binary" ]; then
	die "$binary: no such file"
fi
put "$binary" "$DESTDIR$BINDIR/leadsync" 0755

# 2. The user, before anything is chowned to it.
put "$here/leadsync.sysusers" "$DESTDIR$SYSUSERSDIR/leadsync.conf" 0644
put "$here/leadsync.tmpfiles" "$DESTDIR$TMPFILESDIR/leadsync.conf" 0644
if ! staged; then
	if command -v systemd-sysusers >/dev/null 2>&1; then
		run systemd-sysusers "$SYSUSERSDIR/leadsync.conf"
	elif ! id leadsync >/dev/null 2>&1; then
		nologin=$(command -v nologin || echo /usr/sbin/nologin)
		getent group leadsync >/dev/null 2>&1 || run groupadd --system leadsync
		run useradd --system --gid leadsync --home-dir /var/lib/leadsync --no-create-home \
			--shell "$nologin" --comment "leadsync daemon" leadsync
	fi
fi

# 3. The unit, pointing at the binary's real location, and the credentials
# drop-in (the admin's file after the first install: kept).
unit=$DESTDIR$UNITDIR/leadsync.service
say "+ install -m 0644 $here/leadsync.service $unit (ExecStart=$BINDIR/leadsync)"
if [ "$dryrun" = 0 ]; then
	mkdir -p "$(dirname "$unit")"
	sed "s|/usr/local/bin/leadsync|$BINDIR/leadsync|g" "$here/leadsync.service" >"$unit.tmp.$$"
	chmod 0644 "$unit.tmp.$$"
	mv -f "$unit.tmp.$$" "$unit"
fi
if [ -e "$DESTDIR$DROPINDIR/credentials.conf" ]; then
	say "= keeping $DESTDIR$DROPINDIR/credentials.conf"
else
	put "$here/credentials.conf" "$DESTDIR$DROPINDIR/credentials.conf" 0644
fi

# 4. Config and credentials: created once, never overwritten.
run mkdir -p "$DESTDIR$CONFDIR"
put "$here/leadsync.yaml.example" "$DESTDIR$CONFDIR/leadsync.yaml.example" 0644
if [ -e "$DESTDIR$CONFDIR/leadsync.yaml" ]; then
	say "= keeping $DESTDIR$CONFDIR/leadsync.yaml"
else
	put "$here/leadsync.yaml.example" "$DESTDIR$CONFDIR/leadsync.yaml" 0640
	own root:leadsync "$DESTDIR$CONFDIR/leadsync.yaml"
fi
creds=$DESTDIR$CONFDIR/credentials
run mkdir -p "$creds"
run chmod 0700 "$creds"
own root:root "$creds"
if [ ! -e "$creds/README" ]; then
	say "+ write $creds/README"
	if [ "$dryrun" = 0 ]; then
		cat >"$creds/README" <<EOF
Secrets for leadsync, one file per secret, root-owned, mode 0600.

A file NAME here is what {credential: NAME} in $CONFDIR/leadsync.yaml
reads, once $DROPINDIR/credentials.conf has the line
  LoadCredential=NAME:$CONFDIR/credentials/NAME
systemd copies it into the service's private \$CREDENTIALS_DIRECTORY at start.

  umask 077; printf '%s' 'the-key' > $CONFDIR/credentials/hemnet-key
  CREDENTIALS_DIRECTORY=$CONFDIR/credentials leadsync check --config $CONFDIR/leadsync.yaml
  systemctl daemon-reload && systemctl restart leadsync

Encrypted at rest (systemd 250+): systemd-creds encrypt --name=NAME FILE FILE.cred
and LoadCredentialEncrypted=NAME:$CONFDIR/credentials/FILE.cred instead.
EOF
		chmod 0600 "$creds/README"
	fi
fi

# 5. Tell systemd.
active=no
if live; then
	run systemctl daemon-reload
	if systemctl is-active --quiet leadsync.service; then active=yes; fi
fi

say ""
if [ "$dryrun" = 1 ]; then
	say "Dry run: nothing was changed."
elif staged; then
	say "Staged under $DESTDIR. On the target: systemd-sysusers; systemd-tmpfiles --create leadsync.conf;"
	say "systemctl daemon-reload."
elif [ "$active" = yes ]; then
	say "leadsync is running the old binary: systemctl restart leadsync"
else
	cat <<EOF
leadsync is installed. Next:
  1. Edit the config:            $CONFDIR/leadsync.yaml
  2. Put each secret it names:   umask 077; printf '%s' KEY > $CONFDIR/credentials/hemnet-key
     (and crm-whsec), listed in  $DROPINDIR/credentials.conf
  3. Check it:                   CREDENTIALS_DIRECTORY=$CONFDIR/credentials $BINDIR/leadsync check
  4. Start it, and at boot:      systemctl enable --now leadsync
  5. Follow the log:             journalctl -u leadsync -f
  After a config change:         systemctl reload leadsync   (fails, changing nothing, if the config is bad)
  Let an admin use the CLI:      usermod -aG leadsync USER
EOF
fi
