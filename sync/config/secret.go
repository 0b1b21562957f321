package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a credential from the config file: a plain string, or a reference
// {env: NAME}, {file: PATH} or {credential: NAME} (read from
// $CREDENTIALS_DIRECTORY/NAME, systemd's LoadCredential=). Load resolves
// references, so a loaded Secret holds its value.
//
// Only Reveal returns the value. Every way of printing a Secret — fmt verbs,
// slog, encoding/json, encoding.TextMarshaler, YAML — prints a mask instead,
// also when the Secret is nested deep inside a Config.
type Secret struct {
	// The value sits behind a pointer so that even a printer that cannot call
	// Secret's methods (reflection over an unexported field) shows an address,
	// never the text.
	ref *secretRef
}

type secretRef struct {
	kind  string // inline | env | file | credential
	name  string // variable, path or credential name; "" when inline
	value string
	read  bool // value holds what the reference names (see LoadLayout)
}

// mask is what a set Secret prints as.
const mask = "[secret]"

// maxSecretFile bounds how much of a secret file is read; a credential is a
// few hundred bytes, so anything larger is a mistaken path (or /dev/zero).
const maxSecretFile = 64 << 10

// NewSecret returns a Secret holding value, as if written inline in the file.
// It is meant for tests and for code that builds a Config by hand.
func NewSecret(value string) Secret {
	if value == "" {
		return Secret{}
	}
	return Secret{ref: &secretRef{kind: "inline", value: value}}
}

// Reveal returns the value. Call it only where the value is used, never to
// log or print it.
func (s Secret) Reveal() string {
	if s.ref == nil {
		return ""
	}
	return s.ref.value
}

// IsSet reports whether the secret was given at all.
func (s Secret) IsSet() bool { return s.ref != nil }

// known reports whether the value is at hand: not set, inline, or a
// reference that was read (LoadLayout reads none). Checks of the value
// skip a secret that is not.
func (s Secret) known() bool { return s.ref == nil || s.ref.kind == "inline" || s.ref.read }

// Source says where the value comes from, without the value: "inline",
// "env:NAME", "file:PATH" or "credential:NAME"; "" when not set.
func (s Secret) Source() string {
	switch {
	case s.ref == nil:
		return ""
	case s.ref.kind == "inline":
		return "inline"
	default:
		return s.ref.kind + ":" + s.ref.name
	}
}

// String returns "[secret]", or "" when the secret is not set.
func (s Secret) String() string {
	if s.ref == nil {
		return ""
	}
	return mask
}

// GoString masks %#v.
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format masks every fmt verb (%s, %v, %x, %q …), not only those that call
// String.
func (s Secret) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, s.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", s.String())
	default:
		io.WriteString(f, s.String())
	}
}

// LogValue masks the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText masks the secret wherever text encoding is used.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON masks the secret in JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML writes a reference as it was written ({env: NAME}), which is
// not secret, and an inline value as "[secret]".
func (s Secret) MarshalYAML() (any, error) {
	switch {
	case s.ref == nil:
		return nil, nil
	case s.ref.kind == "inline":
		return mask, nil
	default:
		return map[string]string{s.ref.kind: s.ref.name}, nil
	}
}

// UnmarshalYAML implements yaml.Unmarshaler. It records a reference without
// resolving it; Load resolves every secret once the whole file is decoded.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	*s = Secret{}
	switch n.Kind {
	case yaml.ScalarNode:
		if !isNull(n) && n.Value != "" {
			s.ref = &secretRef{kind: "inline", value: n.Value}
		}
		return nil
	case yaml.MappingNode:
		return s.unmarshalRef(n)
	}
	return errors.New("must be a string or one of {env: NAME}, {file: PATH}, {credential: NAME}")
}

func (s *Secret) unmarshalRef(n *yaml.Node) error {
	if len(n.Content) != 2 {
		return errors.New("must have exactly one of env, file or credential")
	}
	k, v := deref(n.Content[0]), deref(n.Content[1])
	switch k.Value {
	case "env", "file", "credential":
	default:
		return &nodeError{node: k, key: k.Value, msg: "unknown key; a secret reference is env, file or credential"}
	}
	if v.Kind != yaml.ScalarNode || isNull(v) || v.Value == "" {
		return &nodeError{node: v, key: k.Value, msg: "must be a non-empty string"}
	}
	s.ref = &secretRef{kind: k.Value, name: v.Value}
	return nil
}

// resolve reads a referenced value. Its errors name the reference, never the
// value.
func (s *Secret) resolve() error {
	if s.ref == nil || s.ref.kind == "inline" {
		return nil
	}
	var (
		v   string
		err error
	)
	switch s.ref.kind {
	case "env":
		v, err = readEnv(s.ref.name)
	case "file":
		v, err = readSecretFile(s.ref.name)
	case "credential":
		v, err = readCredential(s.ref.name)
	}
	if err != nil {
		return err
	}
	s.ref.value, s.ref.read = v, true
	return nil
}

func readEnv(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	switch {
	case !ok:
		return "", fmt.Errorf("environment variable %s is not set", name)
	case v == "":
		return "", fmt.Errorf("environment variable %s is empty", name)
	}
	return v, nil
}

func readCredential(name string) (string, error) {
	dir := os.Getenv("CREDENTIALS_DIRECTORY")
	if dir == "" {
		return "", fmt.Errorf("credential %s: $CREDENTIALS_DIRECTORY is not set (systemd sets it for LoadCredential=)", name)
	}
	if name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return "", fmt.Errorf("credential %q: must be a plain file name", name)
	}
	v, err := readSecretFile(filepath.Join(dir, name))
	if err != nil {
		return "", fmt.Errorf("credential %s: %w", name, err)
	}
	return v, nil
}

// readSecretFile reads a regular file, trimming the trailing newline editors
// and `echo` leave. Only regular files are read, so that a mistaken path to a
// FIFO or device cannot hang or exhaust the loader.
func readSecretFile(path string) (string, error) {
	// Stat before Open: opening a FIFO would block until a writer appears.
	if st, err := os.Stat(path); err != nil {
		return "", readError(path, err)
	} else if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", readError(path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", readError(path, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFile)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return v, nil
}

// readError says "cannot read PATH: reason" whatever the failing call was.
func readError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read %s: %w", path, err)
}
