package systemd_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sync/config"
)

const (
	unitFile     = "leadsync.service"
	dropInFile   = "credentials.conf"
	exampleFile  = "leadsync.yaml.example"
	sysusersFile = "leadsync.sysusers"
	tmpfilesFile = "leadsync.tmpfiles"
	installSh    = "install.sh"

	binPath    = "/usr/local/bin/leadsync"
	configPath = "/etc/leadsync/leadsync.yaml"

	// maxExposure is the `systemd-analyze security` figure the unit must
	// stay under (SPEC: "exposure under 2.5").
	maxExposure = 2.5
)

// unit is a parsed unit file: section → directive → every value, in order.
// Comments and blank lines are dropped; an empty assignment is kept as "".
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			if strings.HasSuffix(line, `\`) {
				t.Fatalf("%s:%d: continuation lines are not used here; keep directives on one line", path, n)
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a directive in a section: %q", path, n, line)
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	return u
}

// one returns the single value of a directive, failing when it is absent or
// repeated.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	vs, ok := u[section][key]
	if !ok {
		t.Errorf("[%s] %s= is missing", section, key)
		return ""
	}
	if len(vs) != 1 {
		t.Errorf("[%s] %s= is set %d times: %q", section, key, len(vs), vs)
	}
	return vs[len(vs)-1]
}

// since is the systemd version that introduced each directive the unit uses,
// so that nothing newer than 249 (Ubuntu 22.04, Debian 12 has 252) slips in.
// A directive not listed fails the test: add it with its version from
// systemd's NEWS or man page, or keep it in a comment if it is newer.
var since = map[string]int{
	"Description": 1, "Documentation": 1, "Wants": 1, "After": 1, "WantedBy": 1,
	"Type": 1, "NotifyAccess": 1, "Environment": 1, "EnvironmentFile": 1,
	"ExecStart": 1, "ExecReload": 1, "Restart": 1, "RestartSec": 1,
	"TimeoutStopSec": 188, "WatchdogSec": 1, "User": 1, "Group": 1,
	"UMask": 1, "RuntimeDirectory": 211, "RuntimeDirectoryMode": 211,
	"StateDirectory": 235, "StateDirectoryMode": 235,
	"ConfigurationDirectory": 235, "ConfigurationDirectoryMode": 235,
	"LoadCredential": 247, "NoNewPrivileges": 187, "CapabilityBoundingSet": 1,
	"AmbientCapabilities": 229, "ProtectSystem": 232, "ProtectHome": 214,
	"PrivateTmp": 1, "PrivateMounts": 239, "PrivateDevices": 209, "DevicePolicy": 1,
	"PrivateUsers": 232, "ProtectKernelTunables": 232, "ProtectKernelModules": 232,
	"ProtectKernelLogs": 244, "ProtectControlGroups": 232, "ProtectClock": 245,
	"ProtectHostname": 242, "ProtectProc": 247, "ProcSubset": 247,
	"RestrictNamespaces": 233, "RestrictRealtime": 231, "RestrictSUIDSGID": 242,
	"LockPersonality": 235, "MemoryDenyWriteExecute": 231, "RemoveIPC": 232,
	"KeyringMode": 235, "RestrictAddressFamilies": 211, "SystemCallArchitectures": 213,
	"SystemCallFilter": 187, "SystemCallErrorNumber": 209,
	"IPAddressDeny": 235, "IPAddressAllow": 235,
}

// hardening is the sandbox SPEC and the issue ask for, value for value.
var hardening = map[string]string{
	"NoNewPrivileges":         "yes",
	"CapabilityBoundingSet":   "",
	"AmbientCapabilities":     "",
	"ProtectSystem":           "strict",
	"ProtectHome":             "yes",
	"PrivateTmp":              "yes",
	"PrivateMounts":           "yes",
	"PrivateDevices":          "yes",
	"DevicePolicy":            "closed",
	"PrivateUsers":            "yes",
	"ProtectKernelTunables":   "yes",
	"ProtectKernelModules":    "yes",
	"ProtectKernelLogs":       "yes",
	"ProtectControlGroups":    "yes",
	"ProtectClock":            "yes",
	"ProtectHostname":         "yes",
	"ProtectProc":             "invisible",
	"ProcSubset":              "pid",
	"RestrictNamespaces":      "yes",
	"RestrictRealtime":        "yes",
	"RestrictSUIDSGID":        "yes",
	"LockPersonality":         "yes",
	"MemoryDenyWriteExecute":  "yes",
	"RemoveIPC":               "yes",
	"RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
	"SystemCallArchitectures": "native",
	"SystemCallErrorNumber":   "EPERM",
	"UMask":                   "0027",
}

func TestUnitLint(t *testing.T) {
	u := parseUnit(t, unitFile)
	if got := slices.Sorted(maps.Keys(u)); !slices.Equal(got, []string{"Install", "Service", "Unit"}) {
		t.Errorf("sections %q", got)
	}
	for section, keys := range u {
		for k := range keys {
			v, ok := since[k]
			switch {
			case !ok:
				t.Errorf("[%s] %s=: unknown to this test; add it to `since` with the systemd version that introduced it", section, k)
			case v > 249:
				t.Errorf("[%s] %s= needs systemd %d, newer than 249 (Ubuntu 22.04)", section, k, v)
			}
		}
	}
	s := func(k string) string { return u.one(t, "Service", k) }

	// Readiness and reload.
	if v := s("Type"); v != "notify" {
		t.Errorf("Type=%s, want notify (notify-reload needs systemd 253)", v)
	}
	if v := s("NotifyAccess"); v != "main" {
		t.Errorf("NotifyAccess=%s, want main", v)
	}
	env := u["Service"]["Environment"]
	if !slices.Contains(env, "LEADSYNC_CONFIG="+configPath) {
		t.Errorf("Environment=%q, want LEADSYNC_CONFIG=%s", env, configPath)
	}
	if v := s("ExecStart"); v != binPath+" serve --config ${LEADSYNC_CONFIG}" {
		t.Errorf("ExecStart=%s", v)
	}
	reload := u["Service"]["ExecReload"]
	want := []string{binPath + " check --config ${LEADSYNC_CONFIG}", "/bin/kill -HUP $MAINPID"}
	if !slices.Equal(reload, want) {
		t.Errorf("ExecReload=%q, want check then HUP: %q", reload, want)
	}

	// Life cycle. The stop timeout must outlast the drain plus closing the
	// store, or systemd SIGKILLs a clean shutdown.
	if v := s("Restart"); v != "on-failure" {
		t.Errorf("Restart=%s", v)
	}
	if d := unitDuration(t, "RestartSec", s("RestartSec")); d < time.Second {
		t.Errorf("RestartSec=%v: a crash loop would spin", d)
	}
	if d := unitDuration(t, "TimeoutStopSec", s("TimeoutStopSec")); d < time.Duration(config.DefaultDrain)+10*time.Second {
		t.Errorf("TimeoutStopSec=%v, want at least the default drain (%v) + 10s", d, time.Duration(config.DefaultDrain))
	}
	if _, ok := u["Service"]["WatchdogSec"]; ok {
		t.Errorf("WatchdogSec= is active; it stays commented until the daemon sends WATCHDOG=1")
	}

	// Identity and directories.
	for k, v := range map[string]string{
		"User": "leadsync", "Group": "leadsync",
		"StateDirectory": "leadsync", "StateDirectoryMode": "0750",
		"RuntimeDirectory": "leadsync", "RuntimeDirectoryMode": "0750",
		"ConfigurationDirectory": "leadsync",
	} {
		if got := s(k); got != v {
			t.Errorf("%s=%s, want %s", k, got, v)
		}
	}
	if _, ok := u["Service"]["DynamicUser"]; ok {
		t.Errorf("DynamicUser= is set; leadsync runs as the static sysusers user")
	}

	// Sandbox.
	for k, v := range hardening {
		if got := s(k); got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	if f := u["Service"]["SystemCallFilter"]; !slices.Equal(f, []string{"@system-service", "~@privileged @resources"}) {
		t.Errorf("SystemCallFilter=%q", f)
	}
	for _, k := range []string{"ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "LoadCredential"} {
		if _, ok := u["Service"][k]; ok {
			t.Errorf("%s= is set in the unit; the directories come from StateDirectory= and friends, credentials from the drop-in", k)
		}
	}

	if v := u.one(t, "Install", "WantedBy"); v != "multi-user.target" {
		t.Errorf("WantedBy=%s", v)
	}
	if v := u["Unit"]["After"]; !slices.Contains(v, "network-online.target") {
		t.Errorf("After=%q, want network-online.target", v)
	}
}

// unitDuration parses the subset of systemd.time(7) the unit uses: a bare
// number of seconds, or Go-style "30s", "1min".
func unitDuration(t *testing.T, key, v string) time.Duration {
	t.Helper()
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(strings.Replace(v, "min", "m", 1))
	if err != nil {
		t.Errorf("%s=%s: %v", key, v, err)
	}
	return d
}

// credentialNames lists the {credential: NAME} references of a config file.
func credentialNames(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\{\s*credential:\s*([A-Za-z0-9_.-]+)\s*\}`)
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#") // the example's values hold no '#'
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// The drop-in install.sh creates must load exactly the credentials the example
// config names, from /etc/leadsync/credentials: a missing line would fail the
// config, and a line without a file would stop the service from starting.
func TestCredentialsDropIn(t *testing.T) {
	d := parseUnit(t, dropInFile)
	if got := slices.Sorted(maps.Keys(d)); !slices.Equal(got, []string{"Service"}) {
		t.Errorf("sections %q, want only [Service]", got)
	}
	var loaded []string
	for _, v := range d["Service"]["LoadCredential"] {
		name, path, _ := strings.Cut(v, ":")
		if path != "/etc/leadsync/credentials/"+name {
			t.Errorf("LoadCredential=%s: want %s:/etc/leadsync/credentials/%[2]s", v, name)
		}
		loaded = append(loaded, name)
	}
	slices.Sort(loaded)
	if want := credentialNames(t, exampleFile); !slices.Equal(loaded, want) {
		t.Errorf("the drop-in loads %q, the example config uses %q", loaded, want)
	}
	for k := range d["Service"] {
		if k != "LoadCredential" {
			t.Errorf("%s= in the credentials drop-in", k)
		}
	}
}

func TestSysusersAndTmpfiles(t *testing.T) {
	if got := activeLines(t, sysusersFile); !slices.Equal(got, []string{`u leadsync - "leadsync daemon" /var/lib/leadsync`}) {
		t.Errorf("%s: %q", sysusersFile, got)
	}
	want := []string{
		"d /etc/leadsync 0755 root root -",
		"d /etc/leadsync/credentials 0700 root root -",
		"z /etc/leadsync/leadsync.yaml 0640 root leadsync -",
	}
	if got := activeLines(t, tmpfilesFile); !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", tmpfilesFile, got, want)
	}
}

// systemd-sysusers and systemd-tmpfiles accept the files and, applied to an
// empty root, create the user and give the config to its group.
func TestSysusersAndTmpfilesApply(t *testing.T) {
	sysusers, err1 := exec.LookPath("systemd-sysusers")
	tmpfiles, err2 := exec.LookPath("systemd-tmpfiles")
	if err1 != nil || err2 != nil {
		t.Skip("systemd-sysusers/systemd-tmpfiles are not installed (apt-get install -y systemd)")
	}
	if os.Geteuid() != 0 {
		t.Skip("systemd-tmpfiles needs root to chown")
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	if out, err := exec.Command(sysusers, "--root="+root, abs(sysusersFile)).CombinedOutput(); err != nil {
		t.Fatalf("systemd-sysusers: %v\n%s", err, out)
	}
	passwd, _ := os.ReadFile(filepath.Join(root, "etc/passwd"))
	m := regexp.MustCompile(`(?m)^leadsync:x:(\d+):(\d+):leadsync daemon:/var/lib/leadsync:\S*nologin$`).FindStringSubmatch(string(passwd))
	if m == nil {
		t.Fatalf("no leadsync system user in %s/etc/passwd:\n%s", root, passwd)
	}
	cfg := filepath.Join(root, configPath)
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tmpfiles, "--root="+root, "--create", abs(tmpfilesFile)).CombinedOutput(); err != nil {
		t.Fatalf("systemd-tmpfiles: %v\n%s", err, out)
	}
	for path, want := range map[string]string{
		"/etc/leadsync/credentials": fmt.Sprintf("%v 0:0", fs.ModeDir|0o700),
		configPath:                  fmt.Sprintf("%v 0:%s", fs.FileMode(0o640), m[2]),
	} {
		st, err := os.Stat(filepath.Join(root, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		sys := st.Sys().(*syscall.Stat_t)
		if got := fmt.Sprintf("%v %d:%d", st.Mode(), sys.Uid, sys.Gid); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

// activeLines returns the non-comment lines of a file, blanks collapsed.
func activeLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" && l[0] != '#' {
			lines = append(lines, l)
		}
	}
	return lines
}

// The example config passes `leadsync check` once its credentials exist, and
// names each missing one when they do not.
func TestExampleConfigChecks(t *testing.T) {
	bin := buildLeadsync(t)
	creds := t.TempDir()
	for _, name := range credentialNames(t, exampleFile) {
		v := "test-" + name
		if strings.Contains(name, "whsec") {
			v = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		}
		if err := os.WriteFile(filepath.Join(creds, name), []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, errOut, code := runCmd(t, []string{"CREDENTIALS_DIRECTORY=" + creds}, bin, "check", "--config", exampleFile)
	if code != 0 || !strings.Contains(out, ": ok (") || errOut != "" {
		t.Fatalf("leadsync check %s: exit %d\nstdout: %s\nstderr: %s", exampleFile, code, out, errOut)
	}

	_, errOut, code = runCmd(t, []string{"CREDENTIALS_DIRECTORY=" + t.TempDir()}, bin, "check", "--config", exampleFile)
	if code != 1 {
		t.Errorf("check without credentials: exit %d, want 1", code)
	}
	for _, name := range credentialNames(t, exampleFile) {
		if !strings.Contains(errOut, "credential "+name) {
			t.Errorf("check without credentials does not name %s:\n%s", name, errOut)
		}
	}
}

// buildLeadsync builds the real binary into a temporary directory.
func buildLeadsync(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go in PATH to build leadsync")
	}
	bin := filepath.Join(t.TempDir(), "leadsync")
	cmd := exec.Command(goBin, "build", "-o", bin, "./cmd/leadsync")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/leadsync: %v\n%s", err, out)
	}
	return bin
}

// runCmd runs a command with extra environment and returns its output and
// exit code; it fails the test only when the command cannot start.
func runCmd(t *testing.T, env []string, name string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", name, err)
	}
	return o.String(), e.String(), code
}

// testUnit writes the unit, optionally with the credentials drop-in appended,
// into a temporary directory as leadsync.service, with the binary path
// pointing at an executable stub (verify insists ExecStart= exists).
func testUnit(t *testing.T, withDropIn bool) string {
	t.Helper()
	dir := t.TempDir()
	stub := filepath.Join(dir, "leadsync")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), binPath, stub)
	if _, err := os.Stat("/bin/kill"); err != nil {
		// Minimal images lack procps; every real target has /bin/kill.
		t.Logf("/bin/kill is missing here (%v): verifying with the stub in its place", err)
		text = strings.ReplaceAll(text, "/bin/kill", stub)
	}
	if withDropIn {
		d, err := os.ReadFile(dropInFile)
		if err != nil {
			t.Fatal(err)
		}
		text += "\n" + string(d)
	}
	path := filepath.Join(dir, unitFile)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func systemdAnalyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install -y systemd); the static lint still ran")
	}
	return p
}

func TestSystemdAnalyzeVerify(t *testing.T) {
	sa := systemdAnalyze(t)
	for _, withDropIn := range []bool{false, true} {
		t.Run(fmt.Sprintf("dropin=%v", withDropIn), func(t *testing.T) {
			path := testUnit(t, withDropIn)
			out, errOut, code := runCmd(t, []string{"SYSTEMD_LOG_COLOR=0"}, sa, "verify", "--man=no", path)
			// verify also loads the units leadsync.service names and reports
			// their problems; only lines about leadsync itself count.
			var mine []string
			for _, l := range strings.Split(out+errOut, "\n") {
				if strings.Contains(l, "leadsync") {
					mine = append(mine, l)
				}
			}
			t.Logf("systemd-analyze verify: exit %d\n%s%s", code, out, errOut)
			if code != 0 || len(mine) > 0 {
				t.Errorf("systemd-analyze verify %s: exit %d\n%s", path, code, strings.Join(mine, "\n"))
			}
		})
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for leadsync\.service: ([0-9.]+)`)

func TestSystemdAnalyzeSecurity(t *testing.T) {
	sa := systemdAnalyze(t)
	path := testUnit(t, true)
	out, errOut, code := runCmd(t, []string{"SYSTEMD_LOG_COLOR=0", "SYSTEMD_COLORS=0"}, sa, "security", "--no-pager", "--offline=true", path)
	if strings.Contains(errOut, "offline") && (strings.Contains(errOut, "unrecognized") || strings.Contains(errOut, "unknown")) {
		t.Skipf("this systemd-analyze has no --offline (systemd 250+): %s", strings.TrimSpace(errOut))
	}
	m := exposureRE.FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("systemd-analyze security --offline=true: exit %d\n%s%s", code, out, errOut)
	}
	exposure, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exposure %.1f (max %.1f)", exposure, maxExposure)
	if exposure >= maxExposure {
		t.Errorf("exposure %.1f, want under %.1f:\n%s", exposure, maxExposure, out)
	}
}

// fakeTools puts stubs for every command that would change the machine first
// in PATH; each records its call in the returned log file.
func fakeTools(t *testing.T) (env []string, callLog string) {
	t.Helper()
	dir := t.TempDir()
	callLog = filepath.Join(dir, "calls.log")
	for _, name := range []string{"systemctl", "systemd-sysusers", "systemd-tmpfiles", "useradd", "groupadd", "chown", "go"} {
		script := fmt.Sprintf("#!/bin/sh\necho %s \"$@\" >> %s\n", name, callLog)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return []string{"PATH=" + dir + ":" + os.Getenv("PATH")}, callLog
}

func calls(t *testing.T, callLog string) string {
	t.Helper()
	b, err := os.ReadFile(callLog)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

func runInstall(t *testing.T, env []string, args ...string) string {
	t.Helper()
	script, err := filepath.Abs(installSh)
	if err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, env, "sh", append([]string{script}, args...)...)
	if code != 0 {
		t.Fatalf("install.sh %q (env %q): exit %d\n%s%s", args, env, code, out, errOut)
	}
	return out
}

func TestInstallShSyntax(t *testing.T) {
	if out, err := exec.Command("sh", "-n", installSh).CombinedOutput(); err != nil {
		t.Fatalf("sh -n %s: %v\n%s", installSh, err, out)
	}
	for _, sh := range []string{"dash", "bash"} {
		if p, err := exec.LookPath(sh); err == nil {
			if out, err := exec.Command(p, "-n", installSh).CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", sh, installSh, err, out)
			}
		}
	}
	if p, err := exec.LookPath("shellcheck"); err == nil {
		if out, err := exec.Command(p, "-s", "sh", installSh).CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s", err, out)
		}
	}
	st, err := os.Stat(installSh)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("%s is not executable", installSh)
	}
}

func stubBinary(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "leadsync")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n# "+content+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// A staged install (DESTDIR) writes every file with its mode, touches
// nothing outside DESTDIR, and a second run keeps the admin's files.
func TestInstallShDestdir(t *testing.T) {
	env, callLog := fakeTools(t)
	dest := t.TempDir()
	env = append(env, "DESTDIR="+dest)
	bin := stubBinary(t, "v1")

	// --dry-run: prints the plan, creates nothing.
	out := runInstall(t, env, "--dry-run", bin)
	for _, p := range []string{"/usr/local/bin/leadsync", "/etc/systemd/system/leadsync.service", "/etc/leadsync/leadsync.yaml"} {
		if !strings.Contains(out, dest+p) {
			t.Errorf("dry run does not mention %s:\n%s", dest+p, out)
		}
	}
	if entries, _ := os.ReadDir(dest); len(entries) != 0 {
		t.Errorf("dry run created %v", entries)
	}

	runInstall(t, env, bin)
	files := map[string]struct {
		mode fs.FileMode
		same string // a source file it must equal, if any
	}{
		"usr/local/bin/leadsync":                                 {0o755, bin},
		"etc/systemd/system/leadsync.service":                    {0o644, unitFile},
		"etc/systemd/system/leadsync.service.d/credentials.conf": {0o644, dropInFile},
		"etc/sysusers.d/leadsync.conf":                           {0o644, sysusersFile},
		"etc/tmpfiles.d/leadsync.conf":                           {0o644, tmpfilesFile},
		"etc/leadsync/leadsync.yaml":                             {0o640, exampleFile},
		"etc/leadsync/leadsync.yaml.example":                     {0o644, exampleFile},
		"etc/leadsync/credentials":                               {fs.ModeDir | 0o700, ""},
		"etc/leadsync/credentials/README":                        {0o600, ""},
	}
	for rel, want := range files {
		p := filepath.Join(dest, rel)
		st, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if st.Mode() != want.mode {
			t.Errorf("%s: mode %v, want %v", rel, st.Mode(), want.mode)
		}
		if want.same != "" && !sameContent(t, p, want.same) {
			t.Errorf("%s differs from %s", rel, want.same)
		}
	}
	var leftovers []string
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if rel, _ := filepath.Rel(dest, p); !d.IsDir() {
			if _, ok := files[rel]; !ok {
				leftovers = append(leftovers, rel)
			}
		}
		return nil
	})
	if len(leftovers) > 0 {
		t.Errorf("unexpected files: %q", leftovers)
	}
	if c := calls(t, callLog); c != "" {
		t.Errorf("a staged install ran commands outside DESTDIR:\n%s", c)
	}

	// Again, as an upgrade: the binary and unit are replaced, the admin's
	// config and credentials list are kept.
	mine := []byte("# the admin's config\n")
	for _, rel := range []string{"etc/leadsync/leadsync.yaml", "etc/systemd/system/leadsync.service.d/credentials.conf"} {
		if err := os.WriteFile(filepath.Join(dest, rel), mine, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	bin2 := stubBinary(t, "v2")
	out = runInstall(t, env, bin2)
	if !sameContent(t, filepath.Join(dest, "usr/local/bin/leadsync"), bin2) {
		t.Errorf("the second install did not replace the binary")
	}
	for _, rel := range []string{"etc/leadsync/leadsync.yaml", "etc/systemd/system/leadsync.service.d/credentials.conf"} {
		if b, _ := os.ReadFile(filepath.Join(dest, rel)); !bytes.Equal(b, mine) {
			t.Errorf("the second install overwrote %s", rel)
		}
		if !strings.Contains(out, "keeping "+filepath.Join(dest, rel)) {
			t.Errorf("the second install does not say it kept %s:\n%s", rel, out)
		}
	}

	// Uninstall removes what is ours, never config or credentials.
	runInstall(t, env, "--uninstall")
	for _, rel := range []string{"usr/local/bin/leadsync", "etc/systemd/system/leadsync.service", "etc/sysusers.d/leadsync.conf", "etc/tmpfiles.d/leadsync.conf"} {
		if _, err := os.Stat(filepath.Join(dest, rel)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after --uninstall %s: %v", rel, err)
		}
	}
	for _, rel := range []string{"etc/leadsync/leadsync.yaml", "etc/leadsync/credentials"} {
		if _, err := os.Stat(filepath.Join(dest, rel)); err != nil {
			t.Errorf("--uninstall removed %s: %v", rel, err)
		}
	}
	if c := calls(t, callLog); c != "" {
		t.Errorf("a staged uninstall ran commands outside DESTDIR:\n%s", c)
	}
}

// PREFIX=/usr is the distribution layout, and the unit follows the binary.
func TestInstallShPrefixUsr(t *testing.T) {
	env, callLog := fakeTools(t)
	dest := t.TempDir()
	runInstall(t, append(env, "DESTDIR="+dest, "PREFIX=/usr"), stubBinary(t, "pkg"))
	for _, rel := range []string{"usr/bin/leadsync", "usr/lib/sysusers.d/leadsync.conf", "usr/lib/tmpfiles.d/leadsync.conf",
		"etc/systemd/system/leadsync.service.d/credentials.conf", "etc/leadsync/leadsync.yaml"} {
		if _, err := os.Stat(filepath.Join(dest, rel)); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
	u := parseUnit(t, filepath.Join(dest, "usr/lib/systemd/system/leadsync.service"))
	if v := u.one(t, "Service", "ExecStart"); !strings.HasPrefix(v, "/usr/bin/leadsync serve ") {
		t.Errorf("ExecStart=%s, want /usr/bin/leadsync", v)
	}
	if v := u["Service"]["ExecReload"]; len(v) != 2 || !strings.HasPrefix(v[0], "/usr/bin/leadsync check ") {
		t.Errorf("ExecReload=%q, want /usr/bin/leadsync check first", v)
	}
	if c := calls(t, callLog); c != "" {
		t.Errorf("ran commands outside DESTDIR:\n%s", c)
	}
}

// Without a binary, install.sh builds one from the source tree. The script
// runs from a copy of systemd/ in an empty tree, so that a ./leadsync left by
// `make build` does not stand in for the build.
func TestInstallShBuilds(t *testing.T) {
	env, _ := fakeTools(t)
	tree := t.TempDir()
	if err := os.CopyFS(filepath.Join(tree, "systemd"), os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "go.mod"), []byte("module example.com/leadsync\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", filepath.Join(tree, "systemd", installSh), "--dry-run")
	cmd.Dir = tree
	cmd.Env = append(os.Environ(), append(env, "DESTDIR="+t.TempDir())...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "go build") || !strings.Contains(string(out), "./cmd/leadsync") {
		t.Errorf("install.sh --dry-run without a binary: %v\n%s", err, out)
	}
}

// A real (not staged) install's plan creates the user and gives the config to
// its group; --dry-run shows it without doing it.
func TestInstallShDryRunLive(t *testing.T) {
	env, callLog := fakeTools(t)
	out := runInstall(t, env, "--dry-run", stubBinary(t, "live"))
	for _, want := range []string{
		"+ systemd-sysusers /etc/sysusers.d/leadsync.conf",
		"+ install -m 0755 ",
		"Dry run: nothing was changed.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(configPath); errors.Is(err, fs.ErrNotExist) && !strings.Contains(out, "+ chown root:leadsync "+configPath) {
		t.Errorf("dry run does not give the new config to group leadsync:\n%s", out)
	}
	// Only read-only queries may run in a dry run.
	for _, l := range strings.Split(strings.TrimSpace(calls(t, callLog)), "\n") {
		if l != "" && l != "systemctl is-active --quiet leadsync.service" {
			t.Errorf("dry run ran %q", l)
		}
	}
}

func TestInstallShNeedsRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root")
	}
	script, _ := filepath.Abs(installSh)
	_, errOut, code := runCmd(t, nil, "sh", script, stubBinary(t, "x"))
	if code == 0 || !strings.Contains(errOut, "run as root") {
		t.Errorf("non-root install: exit %d, stderr %q", code, errOut)
	}
}

func sameContent(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}
