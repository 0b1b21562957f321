package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a config file, located by file, line and key path.
type Error struct {
	File string // the name given to Load or Parse
	Line int    // 1-based; 0 when the problem has no line (unreadable file)
	Path string // the key, e.g. sources[0].keys; "" for the whole document
	Msg  string // what is wrong; never contains a secret's value
}

// Error formats the problem as FILE:LINE: path.to.key: message, the shape
// editors and `leadsync check` users recognize.
func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one config file, ordered by line. Load and
// Parse return it as a *Errors; use errors.As to list the problems:
//
//	var errs *config.Errors
//	if errors.As(err, &errs) {
//		for _, e := range *errs { … }
//	}
type Errors []Error

// Error joins the problems, one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(*e))
	for i, err := range *e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each Error to errors.Is and errors.As.
func (e *Errors) Unwrap() []error {
	out := make([]error, len(*e))
	for i, err := range *e {
		out[i] = err
	}
	return out
}

// Problem is a problem found in a loaded config after Load (a provider's or
// sink's own checks, say), located like Load's own: at the line of path in
// the file, or of its nearest enclosing key when path itself is not written
// (a default). path is a key as Error prints it, e.g. sources[0].fields.email.
func (c *Config) Problem(path, msg string) Error {
	e := Error{File: c.file, Path: path, Msg: msg}
	if e.File == "" {
		e.File = c.Path
	}
	e.Line, _ = lineOf(c.seen, path) // 0: a config not read from a file
	return e
}

// lineOf is the line of path in seen, or of its nearest enclosing key there
// when path itself is not written; ok is false when nothing encloses it.
func lineOf(seen map[string]loc, path string) (line int, ok bool) {
	for p := path; ; p = parent(p) {
		if l, ok := seen[p]; ok {
			return l.line, true
		}
		if p == "" {
			return 0, false
		}
	}
}

// Sort orders problems by line, as Load lists its own.
func (e *Errors) Sort() { e.sort() }

// add records one problem.
func (e *Errors) add(file string, line int, path, msg string) {
	*e = append(*e, Error{File: file, Line: line, Path: path, Msg: msg})
}

// sort orders the problems by line, keeping discovery order within a line, so
// that the listing reads top to bottom like the file.
func (e *Errors) sort() {
	sort.SliceStable(*e, func(i, j int) bool { return (*e)[i].Line < (*e)[j].Line })
}

// truncate keeps the first n problems and says how many were left out.
func (e *Errors) truncate(n int) {
	if len(*e) <= n {
		return
	}
	last := (*e)[n-1]
	more := len(*e) - n + 1
	*e = (*e)[:n-1]
	e.add(last.File, 0, "", fmt.Sprintf("and %d more problems", more))
}
