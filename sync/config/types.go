package config

// This file holds the schema of the config file. Loading, strict decoding,
// defaults, validation and secrets live beside it.

// Config is the whole config file.
type Config struct {
	Listen         string   `yaml:"listen"`          // default 127.0.0.1:8080
	StateDir       string   `yaml:"state_dir"`       // default $STATE_DIRECTORY, else ./leadsync-data
	AdminSocket    string   `yaml:"admin_socket"`    // default $RUNTIME_DIRECTORY/admin.sock, else <state_dir>/admin.sock
	Log            Log      `yaml:"log"`             //
	TrustedProxies []string `yaml:"trusted_proxies"` // CIDRs or IPs; X-Forwarded-For is believed only from these
	MaxBody        ByteSize `yaml:"max_body"`        // default 1MiB
	Retention      Duration `yaml:"retention"`       // default 720h; 0 keeps all
	Sources        []Source `yaml:"sources"`
	Sinks          []Sink   `yaml:"sinks"`
	Delivery       Delivery `yaml:"delivery"` // defaults for every sink
	Drain          Duration `yaml:"drain"`    // how long SIGTERM waits for deliveries in flight; default 10s

	// Path is the file the config was read from ("" for the demo).
	Path string `yaml:"-"`
	// Demo is true for the embedded demo config.
	Demo bool `yaml:"-"`

	// file and seen locate keys for errors found after loading (see
	// Config.Problem): the name given to Load or Parse, and the decoder's
	// record of every key path present in the file.
	file string
	seen map[string]loc
	// worldReadable is set by Load when any user may read the file, which
	// matters only if it holds inline secrets (see Warnings).
	worldReadable bool
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug|info|warn|error; default info
	Format string `yaml:"format"` // auto|text|json; default auto
	// Redact personal data (email, phone, names, message) in logs; default
	// true. Turning it off takes effect only at level debug.
	Redact *bool `yaml:"redact"`
}

// Source is one entry of `sources:`; which keys apply depends on Provider.
type Source struct {
	Name     string   `yaml:"name"`      // serves POST /webhooks/<name>; [a-z0-9_-]+
	Provider string   `yaml:"provider"`  // hemnet | reapit | rechat | generic
	AllowIPs []string `yaml:"allow_ips"` // presets (hemnet-production, hemnet-sandbox) or CIDRs/IPs; empty = any

	// hemnet
	Keys         []Secret  `yaml:"keys"`           // every active key
	MaxClockSkew *Duration `yaml:"max_clock_skew"` // default 10m; 0 turns the check off (hemnet, reapit, generic)

	// reapit
	ClientID     Secret            `yaml:"client_id"`
	ClientSecret Secret            `yaml:"client_secret"`
	Signature    Signature         `yaml:"signature"`   // reapit: ed25519|legacy|any; generic: a mapping
	PublicKeys   map[string]string `yaml:"public_keys"` // kid → base64url Ed25519 key
	Customers    []string          `yaml:"customers"`
	Topics       []string          `yaml:"topics"` // reapit and rechat
	APIURL       string            `yaml:"api_url"`
	TokenURL     string            `yaml:"token_url"`
	Reconcile    *Reconcile        `yaml:"reconcile"`

	// rechat
	Key Secret `yaml:"key"`

	// generic
	EventID   string            `yaml:"event_id"`   // JSON pointer
	EventTime string            `yaml:"event_time"` // JSON pointer
	Type      string            `yaml:"type"`       // JSON pointer
	Types     []string          `yaml:"types"`      // accepted event types; empty = all
	Each      string            `yaml:"each"`       // JSON pointer to an array: one lead per element
	Fields    map[string]string `yaml:"fields"`     // lead field → JSON pointer
}

// Signature is `signature:` of a source: a scheme name (reapit) or a mapping
// (generic).
type Signature struct {
	Scheme string // reapit: ed25519 | legacy | any; generic: preset name, e.g. standard-webhooks

	Header          string   `yaml:"header"`
	Prefix          string   `yaml:"prefix"`
	Encoding        string   `yaml:"encoding"`  // hex | base64
	Algorithm       string   `yaml:"algorithm"` // sha256 | sha512
	Signed          string   `yaml:"signed"`    // {body} | {timestamp}{body} | {timestamp}.{body} | {id}.{timestamp}.{body}
	Secret          Secret   `yaml:"secret"`
	Secrets         []Secret `yaml:"secrets"`
	TimestampHeader string   `yaml:"timestamp_header"`
	TimestampUnit   string   `yaml:"timestamp_unit"` // s | ms | rfc3339 | auto (default)
	IDHeader        string   `yaml:"id_header"`
}

// Reconcile configures polling of a source's API.
type Reconcile struct {
	Schedule string   `yaml:"schedule"` // robfig/cron spec, e.g. "@every 15m"
	Overlap  Duration `yaml:"overlap"`  // default 10m
}

// Sink is one entry of `sinks:`; which keys apply depends on Type.
type Sink struct {
	Name     string            `yaml:"name"`
	Type     string            `yaml:"type"` // webhook | file | email | hubspot | pipedrive | salesforce | rechat
	Match    *Match            `yaml:"match"`
	Delivery *DeliveryOverride `yaml:"delivery"`

	// webhook
	URL     string            `yaml:"url"`
	Secret  Secret            `yaml:"secret"` // whsec_<base64>
	Headers map[string]Secret `yaml:"headers"`

	// file
	Path string `yaml:"path"`

	// email
	Host     string   `yaml:"host"`
	Port     int      `yaml:"port"`
	TLS      string   `yaml:"tls"` // starttls | tls | none
	Username Secret   `yaml:"username"`
	Password Secret   `yaml:"password"`
	From     string   `yaml:"from"`
	To       []string `yaml:"to"`
	ToAgent  bool     `yaml:"to_agent"`

	// hubspot, pipedrive, rechat
	Token  Secret `yaml:"token"`
	APIURL string `yaml:"api_url"`

	// salesforce
	InstanceURL     string `yaml:"instance_url"`
	ClientID        Secret `yaml:"client_id"`
	ClientSecret    Secret `yaml:"client_secret"`
	ExternalIDField string `yaml:"external_id_field"`

	// rechat
	Channel    Secret   `yaml:"channel"`
	LeadSource string   `yaml:"lead_source"` // default the lead's provider (hemnet, reapit…), else "leadsync"
	SourceType string   `yaml:"source_type"` // default "Website"
	Tags       []string `yaml:"tags"`

	// hubspot, pipedrive, salesforce: field mapping. Properties maps a lead
	// field (a dotted path of the lead JSON, e.g. person.email) to the CRM's
	// property/field name ("" drops a default); Constants are extra fixed
	// fields (e.g. LeadSource: Hemnet).
	Properties map[string]string `yaml:"properties"`
	Constants  map[string]string `yaml:"constants"`

	// salesforce
	APIVersion      string `yaml:"api_version"`       // e.g. v62.0
	DefaultLastName string `yaml:"default_last_name"` // when the lead has none (LastName is required)
	DefaultCompany  string `yaml:"default_company"`   // Company is required

	// email: templates overriding the defaults (text/template, html/template)
	Subject      string `yaml:"subject"`
	TextTemplate string `yaml:"text_template"`
	HTMLTemplate string `yaml:"html_template"`

	// Effective delivery settings: Config.Delivery overlaid with Delivery.
	// Filled in by Load.
	Effective Delivery `yaml:"-"`
}

// Match routes leads to a sink. Absent = every real (non-test) lead. Within
// a list any value matches; every list given must match; a lead that
// matches `not` is excluded.
type Match struct {
	Sources   []string `yaml:"sources"`   // source names
	Providers []string `yaml:"providers"` // hemnet | reapit | rechat | generic
	Actions   []string `yaml:"actions"`   // created | updated | deleted
	Intents   []string `yaml:"intents"`   // buy | sell | rent | let | valuation | other
	Agencies  []string `yaml:"agencies"`  // assignment.agency.id or external_id
	Offices   []string `yaml:"offices"`   // any of assignment.office_ids
	// Test leads (sandbox data) go only to sinks that set test: true, which
	// then get real and test leads; absent or false = real leads only.
	Test *bool  `yaml:"test"`
	Not  *Match `yaml:"not"` // exclude leads matching this (test is not allowed inside)
}

// Delivery holds the delivery defaults.
type Delivery struct {
	Concurrency int      `yaml:"concurrency"` // default 4
	Timeout     Duration `yaml:"timeout"`     // default 15s
	Backoff     Backoff  `yaml:"backoff"`
	MaxAttempts int      `yaml:"max_attempts"` // default 30
	MaxAge      Duration `yaml:"max_age"`      // default 168h
}

// Backoff is exponential with full jitter.
type Backoff struct {
	Initial Duration `yaml:"initial"` // default 5s
	Max     Duration `yaml:"max"`     // default 1h; also caps Retry-After
}

// DeliveryOverride overrides Delivery per sink; nil fields keep the default.
type DeliveryOverride struct {
	Concurrency *int             `yaml:"concurrency"`
	Timeout     *Duration        `yaml:"timeout"`
	Backoff     *BackoffOverride `yaml:"backoff"`
	MaxAttempts *int             `yaml:"max_attempts"`
	MaxAge      *Duration        `yaml:"max_age"`
}

// BackoffOverride overrides Backoff per sink.
type BackoffOverride struct {
	Initial *Duration `yaml:"initial"`
	Max     *Duration `yaml:"max"`
}
