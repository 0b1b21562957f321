package hemnet

import (
	"errors"
	"fmt"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// Provider is the provider name of this package's sources, as written in the
// config (`provider: hemnet`) and in each lead's source.provider.
const Provider = "hemnet"

// Header names Hemnet sends.
const (
	HeaderSignature = "X-Signature"
	HeaderTimestamp = "X-Timestamp"
	HeaderRequestID = "X-Request-Id"
)

// Config configures one Hemnet source.
type Config struct {
	// Name is the source's configured name: the webhook path
	// /webhooks/<Name> and each lead's source.name. Required.
	Name string
	// Keys are the active webhook keys, as bytes exactly as Hemnet shows
	// them. At least one; two while rotating.
	Keys [][]byte
	// MaxClockSkew is the X-Timestamp window (±). Zero turns the check off.
	MaxClockSkew time.Duration
	// Now is the clock the window is checked against; nil means time.Now.
	Now func() time.Time
}

// Source is a configured Hemnet source. It implements providers.Source and
// is safe for concurrent use: it never changes after New.
type Source struct {
	name string
	keys *providers.HMACKeys
	skew time.Duration
	now  func() time.Time
}

var _ providers.Source = (*Source)(nil)

// New returns a Source for cfg, or an error naming the first bad field. The
// keys are copied, so that the caller may wipe or reuse its buffers.
func New(cfg Config) (*Source, error) {
	if cfg.Name == "" {
		return nil, errors.New("name: required")
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("keys: at least one key is required")
	}
	s := &Source{name: cfg.Name, skew: cfg.MaxClockSkew, now: cfg.Now}
	keys := make([][]byte, 0, len(cfg.Keys))
	for i, k := range cfg.Keys {
		if len(k) == 0 {
			return nil, fmt.Errorf("keys[%d]: empty", i)
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	s.keys = providers.NewHMACKeys(keys)
	if cfg.MaxClockSkew < 0 {
		return nil, fmt.Errorf("max_clock_skew: %s is negative", cfg.MaxClockSkew)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Name returns the configured source name.
func (s *Source) Name() string { return s.name }

// Provider returns "hemnet".
func (s *Source) Provider() string { return Provider }
