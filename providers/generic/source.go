package generic

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// Provider is the provider name of this package's sources, as written in the
// config (`provider: generic`) and in each lead's source.provider.
const Provider = "generic"

// Signature encodings (Config.Encoding).
const (
	EncodingHex    = "hex"
	EncodingBase64 = "base64"
)

// Signature algorithms (Config.Algorithm): HMAC with this hash.
const (
	AlgorithmSHA256 = "sha256"
	AlgorithmSHA512 = "sha512"
)

// Signed templates (Config.Signed): what the HMAC is computed over. The
// placeholders are the raw body, and the timestamp and id headers' values
// exactly as received.
const (
	SignedBody           = "{body}"
	SignedTimestampBody  = "{timestamp}{body}"
	SignedTimestampDot   = "{timestamp}.{body}"
	SignedIDTimestampDot = "{id}.{timestamp}.{body}"
)

// Timestamp units (Config.TimestampUnit).
const (
	UnitSeconds = "s"
	UnitMillis  = "ms"
	UnitRFC3339 = "rfc3339"
	// UnitAuto, the default, reads Unix seconds or milliseconds, told
	// apart by size (from 10^11 on, milliseconds: in seconds that is the
	// year 5138), or an RFC 3339 time: senders differ, and a guess at the
	// unit is no weaker a check, the header being what the sender wrote.
	UnitAuto = "auto"
)

// Config configures one generic source: how its requests are signed and
// how their JSON maps onto a lead. The zero values of Encoding, Algorithm,
// Signed and TimestampUnit are hex, sha256, {body} and auto.
type Config struct {
	// Name is the source's configured name: the webhook path
	// /webhooks/<Name> and each lead's source.name. Required.
	Name string

	// Header holds the signature. Required. Its value may list several
	// signatures (see the package doc); any one matching passes.
	Header string
	// Prefix precedes each signature, e.g. "sha256=" or "v1,". Optional.
	Prefix string
	// Encoding of the signature: hex or base64.
	Encoding string
	// Algorithm of the HMAC: sha256 or sha512.
	Algorithm string
	// Signed is the template of the signed message, one of the Signed*
	// constants.
	Signed string
	// Secrets are the HMAC keys, as bytes; any one may have signed (two
	// while rotating). At least one.
	Secrets [][]byte
	// TimestampHeader holds the send time; required when Signed uses
	// {timestamp} or MaxClockSkew is set.
	TimestampHeader string
	// TimestampUnit is how TimestampHeader is written: s, ms, rfc3339 or
	// auto (any of them; the default).
	TimestampUnit string
	// IDHeader holds the message id; required when Signed uses {id}. Its
	// value is also the event id when EventID is not set.
	IDHeader string
	// MaxClockSkew is the timestamp window (±). Zero turns the check off.
	MaxClockSkew time.Duration

	// EventID points at the event's id, the dedupe identity. Required
	// unless IDHeader is set.
	EventID string
	// EventTime points at when the event happened (RFC 3339 text, or Unix
	// seconds or milliseconds). Optional.
	EventTime string
	// Type points at the event type. Required when Types is set.
	Type string
	// Types, when set, are the event types that make leads; others are
	// ignored.
	Types []string
	// Each points at an array: one lead per element. Optional.
	Each string
	// Fields maps lead field names (FieldNames) to pointers.
	Fields map[string]string

	// Now is the clock the timestamp window is checked against; nil means
	// time.Now.
	Now func() time.Time
}

// Source is a configured generic source. It implements providers.Source and
// is safe for concurrent use: it never changes after New.
type Source struct {
	name string
	sig  signature
	m    mapping
	now  func() time.Time
}

var _ providers.Source = (*Source)(nil)

// New returns a Source for cfg, or an error naming the first bad setting
// (with the config key it comes from). Secrets are copied, so that the caller
// may wipe or reuse its buffers.
func New(cfg Config) (*Source, error) {
	if cfg.Name == "" {
		return nil, errors.New("name: required")
	}
	sig, err := newSignature(cfg)
	if err != nil {
		return nil, err
	}
	m, err := newMapping(cfg)
	if err != nil {
		return nil, err
	}
	if m.eventID.IsRoot() && sig.idHeader == "" {
		return nil, errors.New("event_id: required (or signature.id_header, whose value is then the event id)")
	}
	s := &Source{name: cfg.Name, sig: sig, m: m, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Name returns the configured source name.
func (s *Source) Name() string { return s.name }

// Provider returns "generic".
func (s *Source) Provider() string { return Provider }

// mapping is the compiled JSON side of a Config.
type mapping struct {
	eventID, eventTime, typ, each Pointer
	hasTime, hasType, hasEach     bool
	types                         []string
	fields                        []field
}

// field is one compiled entry of Config.Fields.
type field struct {
	name     string
	kind     kind
	ptr      Pointer // absolute, or relative to the element when relative
	relative bool
	conf     string // the pointer as configured, for errors
}

func newMapping(cfg Config) (mapping, error) {
	var m mapping
	var err error
	for _, p := range []struct {
		key string
		v   string
		dst *Pointer
		has *bool
	}{
		{"event_id", cfg.EventID, &m.eventID, nil},
		{"event_time", cfg.EventTime, &m.eventTime, &m.hasTime},
		{"type", cfg.Type, &m.typ, &m.hasType},
		{"each", cfg.Each, &m.each, &m.hasEach},
	} {
		if *p.dst, err = ParsePointer(p.v); err != nil {
			return m, fmt.Errorf("%s: %w", p.key, err)
		}
		if p.has != nil {
			*p.has = p.v != ""
		}
	}
	if len(cfg.Types) > 0 && !m.hasType {
		return m, errors.New("types: needs type, the pointer to the event type")
	}
	m.types = slices.Clone(cfg.Types)
	for _, name := range sortedKeys(cfg.Fields) {
		f, err := newField(name, cfg.Fields[name], m)
		if err != nil {
			return m, fmt.Errorf("fields.%s: %w", name, err)
		}
		m.fields = append(m.fields, f)
	}
	return m, nil
}

// newField compiles one field. A pointer that starts with the Each pointer
// followed by "-" is relative to the current element: with each
// /data/attendees, /data/attendees/-/email is the email of each attendee.
func newField(name, ptr string, m mapping) (field, error) {
	k, ok := fieldKind(name)
	if !ok {
		return field{}, fmt.Errorf("unknown field; known fields are %s", strings.Join(FieldNames, ", "))
	}
	p, err := ParsePointer(ptr)
	if err != nil {
		return field{}, err
	}
	if p.IsRoot() {
		return field{}, errors.New("pointer must not be empty (that is the whole body)")
	}
	f := field{name: name, kind: k, ptr: p, conf: ptr}
	et := m.each.tokens
	if m.hasEach && len(p.tokens) > len(et) && slices.Equal(p.tokens[:len(et)], et) && p.tokens[len(et)] == "-" {
		f.ptr, f.relative = PointerFrom(p.tokens[len(et)+1:]...), true
	}
	return f, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
