package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// This file is the strict decoder. yaml.v3's own decoding stops caring about
// lines once a value is in a struct and reports only the first unknown key,
// so the node tree is walked here against the Go types by yaml tag: every
// unknown key, type error and unreadable secret is recorded with its line,
// and every key present is remembered so that defaults can tell an absent
// key from an explicit zero and validation can point at the right line.

// maxNodes bounds the work of decoding one document: aliases let a small file
// expand into an exponential tree ("billion laughs").
const maxNodes = 100_000

// decoder holds the state of one strict decode.
type decoder struct {
	file   string
	errs   Errors
	seen   map[string]loc      // every path present in the document
	bad    map[string]bool     // paths whose value could not be decoded
	active map[*yaml.Node]bool // anchors being expanded, to stop alias cycles
	budget int
	layout bool // LoadLayout: referenced secrets are not read
}

// loc is where a path sits in the file and what kind of node it holds.
type loc struct {
	line int
	kind yaml.Kind
	null bool
}

// nodeError is returned by an UnmarshalYAML that can point at a node below
// the one it was given (a secret's unknown key).
type nodeError struct {
	node *yaml.Node
	key  string // appended to the path
	msg  string
}

func (e *nodeError) Error() string { return e.msg }

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	signatureType   = reflect.TypeFor[Signature]()
	secretType      = reflect.TypeFor[Secret]()
)

func newDecoder(file string) *decoder {
	return &decoder{
		file:   file,
		seen:   map[string]loc{},
		bad:    map[string]bool{},
		active: map[*yaml.Node]bool{},
		budget: maxNodes,
	}
}

// fail records a problem at path, on line, and marks path as not decoded so
// that validation does not pile a second message on the same key.
func (d *decoder) fail(line int, path, msg string) {
	d.errs.add(d.file, line, path, msg)
	d.bad[path] = true
}

// isSet reports whether the document gave path a non-null value.
func (d *decoder) isSet(path string) bool {
	l, ok := d.seen[path]
	return ok && !l.null
}

// note remembers that path is present, at line, holding n.
func (d *decoder) note(path string, line int, n *yaml.Node) {
	n = deref(n)
	d.seen[path] = loc{line: line, kind: n.Kind, null: isNull(n)}
}

// decode stores n into v, which must be settable.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			d.fail(n.Line, path, fmt.Sprintf("document too large (more than %d nodes after expanding aliases)", maxNodes))
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		d.decodeAlias(n, v, path)
		return
	}
	t := v.Type()
	switch {
	case t == signatureType && n.Kind == yaml.MappingNode:
		d.decodeStruct(n, v, path)
	case reflect.PointerTo(t).Implements(unmarshalerType):
		d.decodeUnmarshaler(n, v, path)
	case t.Kind() == reflect.Pointer:
		if !isNull(n) {
			p := reflect.New(t.Elem())
			d.decode(n, p.Elem(), path)
			v.Set(p)
		}
	case t.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path)
	case t.Kind() == reflect.Slice:
		d.decodeSlice(n, v, path)
	case t.Kind() == reflect.Map:
		d.decodeMap(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

// decodeAlias decodes an alias's anchor in place of the alias, refusing an
// anchor that contains its own alias.
func (d *decoder) decodeAlias(n *yaml.Node, v reflect.Value, path string) {
	if n.Alias == nil || d.active[n.Alias] {
		d.fail(n.Line, path, fmt.Sprintf("alias *%s refers to a value that contains it", n.Value))
		return
	}
	d.active[n.Alias] = true
	defer delete(d.active, n.Alias)
	d.decode(n.Alias, v, path)
}

// decodeUnmarshaler hands n to the type's UnmarshalYAML; secrets are then
// resolved, so an unreadable one is reported at its key.
func (d *decoder) decodeUnmarshaler(n *yaml.Node, v reflect.Value, path string) {
	u := v.Addr().Interface().(yaml.Unmarshaler)
	if err := u.UnmarshalYAML(n); err != nil {
		if ne, ok := errors.AsType[*nodeError](err); ok {
			d.fail(ne.node.Line, join(path, ne.key), ne.msg)
			d.bad[path] = true
		} else {
			d.fail(n.Line, path, err.Error())
		}
		return
	}
	if v.Type() == secretType && !d.layout {
		if err := v.Addr().Interface().(*Secret).resolve(); err != nil {
			d.fail(n.Line, path, err.Error())
		}
	}
}

// decodeStruct matches each key of a mapping to a field by yaml tag.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "must be a mapping of keys")
		return
	}
	fields := yamlFields(v.Type())
	d.eachPair(n, path, func(key string, k, val *yaml.Node) {
		child := join(path, key)
		i, ok := fields[key]
		if !ok {
			d.fail(k.Line, child, "unknown key"+suggest(key, kindFields(v.Type(), n, fields)))
			return
		}
		d.note(child, k.Line, val)
		d.decode(val, v.Field(i), child)
	})
}

// decodeMap decodes a mapping with free-form keys (headers, fields, kids).
func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "must be a mapping")
		return
	}
	m := reflect.MakeMap(v.Type())
	d.eachPair(n, path, func(key string, k, val *yaml.Node) {
		child := join(path, key)
		d.note(child, k.Line, val)
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, e, child)
		m.SetMapIndex(reflect.ValueOf(key), e)
	})
	v.Set(m)
}

// eachPair calls fn for every key of a mapping, reporting non-string,
// duplicate and merge keys instead.
func (d *decoder) eachPair(n *yaml.Node, path string, fn func(key string, k, v *yaml.Node)) {
	dup := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			d.errs.add(d.file, k.Line, path, "keys must be strings")
		case k.Tag == "!!merge":
			d.fail(k.Line, path, "merge keys (<<) are not supported; repeat the keys")
		case dup[k.Value]:
			d.errs.add(d.file, k.Line, join(path, k.Value), "duplicate key")
		default:
			dup[k.Value] = true
			fn(k.Value, k, val)
		}
	}
}

// decodeSlice decodes a sequence item by item, each with its own path.
func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "must be a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		child := fmt.Sprintf("%s[%d]", path, i)
		d.note(child, item.Line, item)
		d.decode(item, s.Index(i), child)
	}
	v.Set(s)
}

// decodeScalar decodes strings, integers and booleans. Any scalar is taken
// as a string (a number as a name is fine), but numbers and booleans must be
// what they claim.
func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	want, ok := map[reflect.Kind]string{
		reflect.String: "must be a string",
		reflect.Int:    "must be an integer",
		reflect.Bool:   "must be true or false",
	}[v.Kind()]
	if !ok {
		want = "must be a " + v.Type().String()
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, path, want)
		return
	}
	if v.Kind() == reflect.String {
		if !isNull(n) {
			v.SetString(n.Value)
		}
		return
	}
	if err := n.Decode(v.Addr().Interface()); err != nil {
		d.fail(n.Line, path, fmt.Sprintf("%s, not %q", want, n.Value))
	}
}

// yamlFields maps the yaml key of every field of t to its index, following
// yaml.v3's rules: the tag's name, else the lowercased field name; "-" skips.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		out[name] = i
	}
	return out
}

// deref follows an alias to its anchor.
func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}
