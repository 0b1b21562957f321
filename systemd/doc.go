// Package systemd holds no Go code: the directory carries what runs leadsync
// as a systemd service, and this package's test checks it.
//
//   - leadsync.service: the unit (Type=notify, check-then-HUP reload,
//     hardened sandbox, static user, State/Runtime/ConfigurationDirectory).
//   - credentials.conf: the drop-in with a LoadCredential= line per secret.
//   - leadsync.sysusers, leadsync.tmpfiles: the leadsync user and the modes
//     of /etc/leadsync.
//   - leadsync.yaml.example: the config install.sh starts from.
//   - install.sh: the idempotent installer behind `make install`.
//
// The tests lint the unit and the installer always, and run
// `systemd-analyze verify` and `systemd-analyze security --offline=true`
// where systemd-analyze is installed.
package systemd
