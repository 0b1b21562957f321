package reapit

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// Provider is the provider name of this package's sources, as written in the
// config (`provider: reapit`) and in each lead's source.provider.
const Provider = "reapit"

// Header names Reapit sends and the Platform API expects.
const (
	HeaderSignature       = "X-Signature"              // s:<kid>:<unix seconds>:<base64url Ed25519 signature>
	HeaderLegacySignature = "Reapit-Webhook-Signature" // base64(client_id)
	HeaderCustomer        = "reapit-customer"          // the customer an API call is made for
	HeaderAPIVersion      = "api-version"
)

// APIVersion is the Platform API version every API call asks for.
const APIVersion = "2020-01-31"

// Signature schemes (Config.Signature).
const (
	SignatureEd25519 = "ed25519" // X-Signature only
	SignatureLegacy  = "legacy"  // Reapit-Webhook-Signature only
	SignatureAny     = "any"     // either; a request passes when one of them does
)

// Topics this package maps to leads, and the customers Reapit gives a
// special meaning.
const (
	TopicApplicantsCreated  = "applicants.created"
	TopicApplicantsModified = "applicants.modified"
	CustomerPing            = "webhook-test" // the Ping button of the developer portal
	CustomerSandbox         = "SBOX"         // the sandbox database: leads get test: true
)

// Defaults for the empty fields of Config.
const (
	DefaultAPIURL   = "https://platform.reapit.cloud"
	DefaultTokenURL = "https://connect.reapit.cloud/token"
)

// DefaultTopics are the topics used when Config.Topics is empty: the two
// that carry leads.
var DefaultTopics = []string{TopicApplicantsCreated, TopicApplicantsModified}

// Config configures one Reapit source. The engine fills it from the source's
// config entry; the zero value of each optional field is documented.
type Config struct {
	// Name is the source's configured name: the webhook path
	// /webhooks/<Name>, each lead's source.name and the first part of every
	// key. Required.
	Name string
	// ClientID and ClientSecret are the app's client credentials. ClientID
	// is required by the legacy and any schemes (it is what the legacy
	// header carries); both are needed to fetch signing keys and to poll.
	ClientID, ClientSecret string
	// Signature is the accepted scheme: SignatureEd25519 (the default when
	// empty), SignatureLegacy or SignatureAny.
	Signature string
	// PublicKeys are Ed25519 public keys by kid, base64url (padding and the
	// standard alphabet are tolerated), 32 bytes each. A kid not listed is
	// looked up in KeyCache, then fetched from the API.
	PublicKeys map[string]string
	// Customers are the accepted customerIds; empty accepts every customer.
	// They are also the customers Poll is run for (Customers).
	Customers []string
	// Topics are the accepted topicIds; empty means DefaultTopics.
	Topics []string
	// APIURL is the Platform API base; empty means DefaultAPIURL.
	APIURL string
	// TokenURL is the client-credentials token endpoint; empty means
	// DefaultTokenURL.
	TokenURL string
	// MaxClockSkew is the window (±) around Now that an X-Signature
	// timestamp must fall in. Zero turns the check off.
	MaxClockSkew time.Duration
	// HTTPClient makes every outgoing call; nil means a client with a 30s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock for the skew window, token expiry and the
	// once-a-minute key fetch limit; nil means time.Now. (The request rate
	// limiter always runs on real time.)
	Now func() time.Time
	// KeyCache persists fetched signing keys across restarts; nil keeps them
	// in memory only.
	KeyCache KeyCache
	// Logger receives key fetch and token events; nil discards them.
	Logger *slog.Logger
}

// KeyCache is a durable store of Ed25519 public keys by kid, which the
// engine backs with bbolt so that a restart does not refetch every key.
// It must be safe for concurrent use. GetKey reports a miss with false (and
// a key that is not 32 bytes is treated as a miss); a PutKey error is
// logged and otherwise ignored, since the key stays cached in memory.
type KeyCache interface {
	GetKey(kid string) ([]byte, bool)
	PutKey(kid string, key []byte) error
}

// Source is a configured Reapit source. It implements providers.Source and
// providers.Poller and is safe for concurrent use. Its configuration never
// changes after New; its caches (signing keys, access token) are guarded.
type Source struct {
	name      string
	clientID  string
	mode      string
	customers []string
	accept    map[string]bool // customers; nil = all
	topics    map[string]bool
	apiURL    string
	skew      time.Duration
	now       func() time.Time
	log       *slog.Logger
	hc        *http.Client
	keys      *keyring
	tokens    *tokenClient
	limit     *limiter
}

var (
	_ providers.Source = (*Source)(nil)
	_ providers.Poller = (*Source)(nil)
)

// New returns a Source for cfg, or an error naming the first bad field (in
// the config's own key names). It does no I/O.
func New(cfg Config) (*Source, error) {
	if cfg.Name == "" {
		return nil, errors.New("name: required")
	}
	s := &Source{name: cfg.Name, clientID: cfg.ClientID, mode: cfg.Signature, skew: cfg.MaxClockSkew,
		now: cfg.Now, log: cfg.Logger, hc: cfg.HTTPClient}
	if s.mode == "" {
		s.mode = SignatureEd25519
	}
	if err := s.checkScheme(cfg); err != nil {
		return nil, err
	}
	static, err := decodePublicKeys(cfg.PublicKeys)
	if err != nil {
		return nil, err
	}
	if cfg.MaxClockSkew < 0 {
		return nil, fmt.Errorf("max_clock_skew: %s is negative", cfg.MaxClockSkew)
	}
	if err := s.setFilters(cfg); err != nil {
		return nil, err
	}
	if s.apiURL, err = baseURL("api_url", cfg.APIURL, DefaultAPIURL); err != nil {
		return nil, err
	}
	tokenURL, err := baseURL("token_url", cfg.TokenURL, DefaultTokenURL)
	if err != nil {
		return nil, err
	}
	s.setDefaults()
	s.limit = newLimiter(requestsPerSecond, requestBurst)
	s.tokens = &tokenClient{url: tokenURL, id: cfg.ClientID, secret: cfg.ClientSecret, hc: s.hc, now: s.now, log: s.log}
	s.keys = &keyring{static: static, cache: cfg.KeyCache, now: s.now, log: s.log,
		canFetch: cfg.ClientID != "" && cfg.ClientSecret != "", fetch: s.fetchKey}
	return s, nil
}

func (s *Source) checkScheme(cfg Config) error {
	switch s.mode {
	case SignatureEd25519, SignatureLegacy, SignatureAny:
	default:
		return fmt.Errorf("signature: %q is not one of ed25519, legacy, any", cfg.Signature)
	}
	if s.mode != SignatureEd25519 && cfg.ClientID == "" {
		return fmt.Errorf("client_id: required by signature %s", s.mode)
	}
	canFetch := cfg.ClientID != "" && cfg.ClientSecret != ""
	if s.mode != SignatureLegacy && len(cfg.PublicKeys) == 0 && !canFetch {
		return fmt.Errorf("signature: %s needs public_keys, or client_id and client_secret to fetch them", s.mode)
	}
	return nil
}

func decodePublicKeys(in map[string]string) (map[string]ed25519.PublicKey, error) {
	out := make(map[string]ed25519.PublicKey, len(in))
	for kid, v := range in {
		if !validKid(kid) {
			return nil, fmt.Errorf("public_keys: key id %q: want 1-%d letters, digits, '.', '_', '~' or '-'", kid, maxKidLen)
		}
		b, ok := decodeBase64URL(strings.TrimSpace(v))
		if !ok || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("public_keys.%s: must be a base64url Ed25519 public key (32 bytes)", kid)
		}
		out[kid] = ed25519.PublicKey(b)
	}
	return out, nil
}

func (s *Source) setFilters(cfg Config) error {
	for i, c := range cfg.Customers {
		if strings.TrimSpace(c) == "" {
			return fmt.Errorf("customers[%d]: empty", i)
		}
	}
	s.customers = slices.Clone(cfg.Customers)
	if len(s.customers) > 0 {
		s.accept = make(map[string]bool, len(s.customers))
		for _, c := range s.customers {
			s.accept[c] = true
		}
	}
	topics := cfg.Topics
	if len(topics) == 0 {
		topics = DefaultTopics
	}
	s.topics = make(map[string]bool, len(topics))
	for i, t := range topics {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("topics[%d]: empty", i)
		}
		s.topics[t] = true
	}
	return nil
}

// baseURL returns v (or def when v is empty) without a trailing slash, after
// checking that it is an absolute http(s) URL.
func baseURL(key, v, def string) (string, error) {
	if v == "" {
		v = def
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s: %q is not an http(s) URL", key, v)
	}
	return strings.TrimRight(v, "/"), nil
}

func (s *Source) setDefaults() {
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 30 * time.Second}
	}
}

// Name returns the configured source name.
func (s *Source) Name() string { return s.name }

// Provider returns "reapit".
func (s *Source) Provider() string { return Provider }

// Customers returns the configured customers: the ones the engine polls.
// Empty means every customer is accepted by webhook, and the engine polls
// the ones that have sent one, since the API has no list of the customers
// that installed the app.
func (s *Source) Customers() []string { return slices.Clone(s.customers) }

// String names the source without any of its credentials, so that a Source
// printed by mistake leaks nothing.
func (s *Source) String() string { return "reapit source " + s.name }
