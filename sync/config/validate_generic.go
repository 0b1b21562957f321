package config

import (
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// generic checks a source that describes its signature and mapping itself.
func (c *checker) generic(path string, s *Source) {
	c.genericSignature(path+".signature", &s.Signature)
	if c.d.isSet(path+".max_clock_skew") && s.MaxClockSkew.D() > 0 && s.Signature.TimestampHeader == "" {
		c.errorf(path+".max_clock_skew", "needs signature.timestamp_header")
	}
	c.pointer(path+".event_id", s.EventID)
	c.pointer(path+".event_time", s.EventTime)
	c.pointer(path+".type", s.Type)
	c.pointer(path+".each", s.Each)
	c.nonEmpty(path+".types", s.Types)
	for field, ptr := range s.Fields {
		if field == "" {
			c.errorf(path+".fields", "field names must not be empty")
		}
		c.pointer(path+".fields."+field, ptr)
	}
}

func (c *checker) genericSignature(path string, g *Signature) {
	if !c.d.isSet(path) {
		c.errorf(path, "is required: a mapping with header and secret, or scheme standard-webhooks")
		return
	}
	if g.Scheme != "" && g.Scheme != SchemeStandardWebhooks {
		at := path
		if c.d.seen[path].kind == yaml.MappingNode {
			at = path + ".scheme"
		}
		c.errorf(at, "must be %s (or leave it out and describe the scheme)%s", SchemeStandardWebhooks, got(g.Scheme))
		return
	}
	if g.Header == "" {
		c.errorf(path+".header", "is required")
	}
	if len(g.AllSecrets()) == 0 {
		c.errorf(path+".secret", "secret or secrets is required")
	}
	c.secrets(path+".secrets", g.Secrets)
	if g.Scheme == SchemeStandardWebhooks {
		// The scheme fixes the rest (webhook-signature, v1, base64
		// HMAC-SHA256 over id.timestamp.body): a value given beside it
		// would be ignored, and the sender's signatures refused.
		c.inapplicable(path, reflect.TypeFor[Signature](), "scheme", g.Scheme, []string{"scheme", "secret", "secrets"}, nil)
		c.whsec(path+".secret", g.Secret)
		for i, s := range g.Secrets {
			c.whsec(indexed(path+".secrets", i), s)
		}
	}
	c.oneOf(path+".encoding", g.Encoding, "hex", "base64")
	c.oneOf(path+".algorithm", g.Algorithm, "sha256", "sha512")
	signed := []string{SignedBody, SignedTimestampBody, SignedTimestampDot, SignedIDTimestampDot}
	if !slices.Contains(signed, g.Signed) {
		c.errorf(path+".signed", "must be one of %s%s", strings.Join(signed, ", "), got(g.Signed))
	} else {
		c.signedHeaders(path, g)
	}
	if g.TimestampHeader != "" {
		c.oneOf(path+".timestamp_unit", g.TimestampUnit, "s", "ms", "rfc3339", "auto")
	}
	for _, h := range []struct{ key, v string }{
		{"header", g.Header}, {"timestamp_header", g.TimestampHeader}, {"id_header", g.IDHeader},
	} {
		c.headerName(path+"."+h.key, h.v)
	}
}

// signedHeaders checks that the headers a template reads are named.
func (c *checker) signedHeaders(path string, g *Signature) {
	if strings.Contains(g.Signed, "{timestamp}") && g.TimestampHeader == "" {
		c.errorf(path+".timestamp_header", "is required by signed %s", g.Signed)
	}
	if strings.Contains(g.Signed, "{id}") && g.IDHeader == "" {
		c.errorf(path+".id_header", "is required by signed %s", g.Signed)
	}
}

// pointer checks a JSON pointer (RFC 6901): empty, or "/" segments in
// which "~" is only ever "~0" or "~1".
func (c *checker) pointer(path, p string) {
	if p == "" {
		return
	}
	ok := strings.HasPrefix(p, "/")
	for i := 0; ok && i < len(p); i++ {
		if p[i] == '~' {
			ok = i+1 < len(p) && (p[i+1] == '0' || p[i+1] == '1')
		}
	}
	if !ok {
		c.errorf(path, "must be a JSON pointer such as /data/email, not %q", p)
	}
}
