package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultPath is where FindPath looks when neither the flag nor
// $LEADSYNC_CONFIG names a file.
const DefaultPath = "/etc/leadsync/leadsync.yaml"

// defaultPath is DefaultPath; tests point it elsewhere.
var defaultPath = DefaultPath

// FindPath returns the config file to load: flag if set, else
// $LEADSYNC_CONFIG, else DefaultPath if it exists, else "" which means the
// demo config. A DefaultPath that exists but cannot be examined is returned
// all the same, so that Load reports why rather than the demo starting.
func FindPath(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("LEADSYNC_CONFIG"); env != "" {
		return env
	}
	if _, err := os.Stat(defaultPath); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return defaultPath
	}
	return ""
}

// Load reads, decodes, resolves, defaults and validates the config file at
// path. On failure it returns a nil Config and an *Errors listing every
// problem found.
func Load(path string) (*Config, error) { return load(path, true) }

// LoadLayout is Load without reading the secrets the file refers to
// ({env:}, {file:}, {credential:}): they stay unread (Reveal returns ""),
// and only what can be checked without their values is. It is for the
// commands that only need where the daemon keeps its state and admin
// socket, run from a shell that has none of the daemon's credentials
// (systemd's $CREDENTIALS_DIRECTORY, its environment).
func LoadLayout(path string) (*Config, error) { return load(path, false) }

func load(path string, secrets bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is already the start of the line
		}
		return nil, &Errors{{File: path, Msg: "cannot read: " + err.Error()}}
	}
	cfg, err := parse(path, data, secrets)
	if err != nil {
		return nil, err
	}
	cfg.Path = path
	if st, err := os.Stat(path); err == nil {
		cfg.worldReadable = st.Mode().Perm()&0o004 != 0
	}
	return cfg, nil
}

// Parse is Load for a file already in memory; name is used in messages.
// Path is left empty.
func Parse(name string, data []byte) (*Config, error) { return parse(name, data, true) }

func parse(name string, data []byte, secrets bool) (*Config, error) {
	d := newDecoder(name)
	d.layout = !secrets
	root := parseYAML(d, data)
	if len(d.errs) > 0 {
		return nil, &d.errs
	}
	cfg := &Config{}
	if root != nil {
		d.seen[""] = loc{line: root.Line, kind: root.Kind}
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	cfg.applyDefaults(d.isSet)
	(&checker{d: d}).validate(cfg)
	if len(d.errs) > 0 {
		d.errs.sort()
		d.errs.truncate(maxErrors)
		return nil, &d.errs
	}
	cfg.file, cfg.seen = name, d.seen
	return cfg, nil
}

// maxErrors keeps the listing readable when a file is not a config at all
// (or an alias repeats one mistake many times).
const maxErrors = 100

// yamlErrLine splits yaml.v3's "yaml: line 3: message".
var yamlErrLine = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// parseYAML parses exactly one YAML document into a node tree, returning
// its root (nil for an empty file). Syntax errors are recorded on d.
func parseYAML(d *decoder, data []byte) (root *yaml.Node) {
	defer func() {
		// A parser bug must not take the daemon down on a reload: report the
		// file as unreadable YAML instead.
		if r := recover(); r != nil {
			d.errs.add(d.file, 0, "", fmt.Sprintf("invalid YAML (parser failed: %v)", r))
			root = nil
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntaxError(data, err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.errs.add(d.file, extra.Line, "", "only one YAML document is allowed")
	case !errors.Is(err, io.EOF):
		d.syntaxError(data, err)
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// syntaxError records a yaml.v3 syntax error at the line of the problem.
func (d *decoder) syntaxError(data []byte, err error) {
	msg := err.Error()
	line := 0
	if m := yamlErrLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	d.errs.add(d.file, problemLine(data, line, msg), "", msg)
}

// problemLine finds the line a syntax error is on. yaml.v3 names the line
// where the enclosing construct began, counted from 0 for parser errors and
// from 1 for scanner errors, or none at all (from is that line). But the
// parser stops at the first problem, so every prefix of the file that
// includes the problem's line fails with the same message, and (truncation
// aside) shorter ones do not: a binary search over prefixes finds the line.
func problemLine(data []byte, from int, msg string) int {
	ends := []int{} // ends[k-1] is the offset just past line k
	for i, b := range data {
		if b == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	fails := func(k int) bool {
		err := yamlError(data[:ends[k-1]])
		return err != nil && strings.HasSuffix(err.Error(), ": "+msg)
	}
	k := 1 + sort.Search(len(ends), func(i int) bool { return fails(i + 1) })
	if k > len(ends) {
		return from // not found: keep what yaml.v3 said
	}
	return k
}

// yamlError returns the first syntax error in any document of data.
func yamlError(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
