package config

import (
	"errors"

	"go.yaml.in/yaml/v3"
)

// Signature schemes. Reapit's are chosen by name; a generic source describes
// its scheme field by field or names a preset.
const (
	SchemeEd25519          = "ed25519"           // reapit: X-Signature, Ed25519 by kid
	SchemeLegacy           = "legacy"            // reapit: Reapit-Webhook-Signature = base64(client_id)
	SchemeAny              = "any"               // reapit: either of the above
	SchemeStandardWebhooks = "standard-webhooks" // generic preset: Standard Webhooks 1.0
)

// Templates a generic signature may sign: the placeholders are the raw body,
// the timestamp header's value and the id header's value.
const (
	SignedBody           = "{body}"
	SignedTimestampBody  = "{timestamp}{body}"
	SignedTimestampDot   = "{timestamp}.{body}"
	SignedIDTimestampDot = "{id}.{timestamp}.{body}"
)

// UnmarshalYAML accepts a scalar (the scheme name) or a mapping of the
// fields. Load does not call it for mappings: it walks them itself so that
// unknown keys are reported with their lines.
func (s *Signature) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case isNull(n):
		*s = Signature{}
	case n.Kind == yaml.ScalarNode:
		*s = Signature{Scheme: n.Value}
	case n.Kind == yaml.MappingNode:
		type plain Signature // drops the methods, so Decode does not recurse
		var p plain
		if err := n.Decode(&p); err != nil {
			return err
		}
		*s = Signature(p)
	default:
		return errors.New("must be a scheme name or a mapping")
	}
	return nil
}

// MarshalYAML writes a bare scheme name as a scalar, as it is written for
// Reapit, and anything more as a mapping.
func (s Signature) MarshalYAML() (any, error) {
	if s.onlyScheme() {
		return s.Scheme, nil
	}
	type plain Signature
	return plain(s), nil
}

func (s Signature) onlyScheme() bool {
	return s.Header == "" && s.Prefix == "" && s.Encoding == "" && s.Algorithm == "" &&
		s.Signed == "" && !s.Secret.IsSet() && len(s.Secrets) == 0 &&
		s.TimestampHeader == "" && s.TimestampUnit == "" && s.IDHeader == ""
}

// AllSecrets returns secret followed by secrets: every key a generic
// signature may have been made with (two during a rotation).
func (s Signature) AllSecrets() []Secret {
	var out []Secret
	if s.Secret.IsSet() {
		out = append(out, s.Secret)
	}
	return append(out, s.Secrets...)
}
