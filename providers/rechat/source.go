package rechat

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/leadsync/leadsync/providers"
)

// Provider is the provider name of this package's sources, as written in the
// config (`provider: rechat`) and in each lead's source.provider.
const Provider = "rechat"

// HeaderSignature is the header Rechat signs its brand webhooks in.
const HeaderSignature = "X-RECHAT-SIGNATURE"

// Topics of Rechat brand webhooks.
const (
	TopicContacts = "Contacts"
	TopicShowings = "Showings"
	TopicDeals    = "Deals"
)

// DefaultTopics are the topics a source accepts when Config.Topics is
// empty: the ones that carry leads.
var DefaultTopics = []string{TopicContacts, TopicShowings}

// Config configures one Rechat source.
type Config struct {
	// Name is the source's configured name: the webhook path
	// /webhooks/<Name> and each lead's source.name. Required.
	Name string
	// Key is the brand webhook's key as Rechat shows it: 64 hex characters.
	// It is hex-decoded to the 32-byte HMAC key. Required.
	Key string
	// ExtraKeys are further keys in the same form, any of which may sign:
	// Rechat gives each brand webhook (one per topic) its own key, so a
	// source that receives two topics at one URL needs both.
	ExtraKeys []string
	// Topics are the topics that make leads (compared case-insensitively);
	// empty means DefaultTopics.
	Topics []string
}

// Source is a configured Rechat source. It implements providers.Source and
// is safe for concurrent use: it never changes after New.
type Source struct {
	name   string
	keys   *providers.HMACKeys
	topics []string
}

var _ providers.Source = (*Source)(nil)

// New returns a Source for cfg, or an error naming the first bad setting.
// Errors never contain a key.
func New(cfg Config) (*Source, error) {
	if cfg.Name == "" {
		return nil, errors.New("name: required")
	}
	s := &Source{name: cfg.Name}
	k, err := decodeKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	keys := [][]byte{k}
	for i, x := range cfg.ExtraKeys {
		k, err := decodeKey(x)
		if err != nil {
			return nil, fmt.Errorf("extra_keys[%d]: %w", i, err)
		}
		keys = append(keys, k)
	}
	s.keys = providers.NewHMACKeys(keys)
	s.topics = append(s.topics, cfg.Topics...)
	if len(s.topics) == 0 {
		s.topics = append(s.topics, DefaultTopics...)
	}
	for i, t := range s.topics {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("topics[%d]: empty", i)
		}
	}
	return s, nil
}

// decodeKey hex-decodes a brand webhook key, as Rechat's server does
// (crypto.createSecretKey(key, 'hex')).
func decodeKey(k string) ([]byte, error) {
	k = strings.TrimSpace(k)
	if k == "" {
		return nil, errors.New("required")
	}
	b, err := hex.DecodeString(k)
	if err != nil || len(b) != 32 {
		return nil, errors.New("must be 64 hexadecimal characters")
	}
	return b, nil
}

// Name returns the configured source name.
func (s *Source) Name() string { return s.name }

// Provider returns "rechat".
func (s *Source) Provider() string { return Provider }

// configured reports whether topic is one of the source's topics.
func (s *Source) configured(topic string) bool {
	for _, t := range s.topics {
		if strings.EqualFold(strings.TrimSpace(t), topic) {
			return true
		}
	}
	return false
}
