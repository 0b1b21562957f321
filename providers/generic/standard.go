package generic

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Standard Webhooks 1.0 (https://www.standardwebhooks.com): the header
// names, the prefix of each signature and the timestamp tolerance the
// specification recommends.
const (
	StandardHeaderID        = "webhook-id"
	StandardHeaderTimestamp = "webhook-timestamp"
	StandardHeaderSignature = "webhook-signature"
	StandardPrefix          = "v1,"
	StandardSecretPrefix    = "whsec_"
	StandardTolerance       = 5 * time.Minute
)

// StandardWebhooks returns cfg with its signature settings replaced by those
// of Standard Webhooks 1.0: webhook-signature holds a space-separated list of
// "v1,<base64 HMAC-SHA256>" over "{id}.{timestamp}.{body}", with id and
// timestamp (Unix seconds) from webhook-id and webhook-timestamp. secrets are
// "whsec_<base64>" strings (see ParseStandardSecret) and replace
// cfg.Secrets. The mapping fields, Name, MaxClockSkew and Now are kept;
// with no EventID, webhook-id is the event id, as the specification intends.
// StandardTolerance is the window the specification recommends.
func StandardWebhooks(cfg Config, secrets ...string) (Config, error) {
	if len(secrets) == 0 {
		return cfg, errors.New("signature.secret: at least one whsec_ secret is required")
	}
	cfg.Secrets = nil
	for i, s := range secrets {
		k, err := ParseStandardSecret(s)
		if err != nil {
			return cfg, fmt.Errorf("signature.secrets[%d]: %w", i, err)
		}
		cfg.Secrets = append(cfg.Secrets, k)
	}
	cfg.Header, cfg.Prefix = StandardHeaderSignature, StandardPrefix
	cfg.Encoding, cfg.Algorithm, cfg.Signed = EncodingBase64, AlgorithmSHA256, SignedIDTimestampDot
	cfg.TimestampHeader, cfg.TimestampUnit, cfg.IDHeader = StandardHeaderTimestamp, UnitSeconds, StandardHeaderID
	return cfg, nil
}

// ParseStandardSecret decodes a Standard Webhooks secret: "whsec_" followed
// by the base64 key. Like the reference libraries it also takes the base64
// without the prefix. The error never contains the secret.
func ParseStandardSecret(s string) ([]byte, error) {
	rest := strings.TrimPrefix(strings.TrimSpace(s), StandardSecretPrefix)
	k, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		if k, err = base64.RawStdEncoding.DecodeString(rest); err != nil {
			return nil, errors.New("not whsec_ followed by base64")
		}
	}
	if len(k) == 0 {
		return nil, errors.New("empty key after whsec_")
	}
	return k, nil
}
