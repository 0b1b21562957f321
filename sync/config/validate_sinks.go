package config

import (
	"net/netip"
	"slices"
	"strings"
)

// sink checks one entry of sinks.
func (c *checker) sink(path string, k *Sink, names map[string]string, cfg *Config) {
	c.name(path+".name", k.Name, names)
	if k.Match != nil {
		c.match(path+".match", k.Match, cfg)
	}
	if k.Delivery != nil {
		c.deliveryOverride(path+".delivery", k.Delivery, k.Effective)
	}
	if !c.kind(path+".type", k.Type, sinkKeys) {
		return
	}
	c.inapplicable(path, sinkType, "type", k.Type, sinkCommonKeys, sinkKeys)
	switch k.Type {
	case SinkWebhook:
		c.requiredURL(path+".url", k.URL)
		c.required(path+".secret", k.Secret)
		c.whsec(path+".secret", k.Secret)
		for name, v := range k.Headers {
			c.headerName(path+".headers."+name, name)
			c.required(path+".headers."+name, v)
		}
	case SinkFile:
		if k.Path == "" {
			c.errorf(path+".path", "is required")
		}
	case SinkEmail:
		c.email(path, k)
	case SinkHubSpot, SinkPipedrive:
		c.required(path+".token", k.Token)
		c.requiredURL(path+".api_url", k.APIURL)
	case SinkSalesforce:
		c.requiredURL(path+".instance_url", k.InstanceURL)
		c.required(path+".client_id", k.ClientID)
		c.required(path+".client_secret", k.ClientSecret)
		if k.ExternalIDField == "" {
			c.errorf(path+".external_id_field", "is required")
		}
	case SinkRechat:
		c.required(path+".channel", k.Channel)
		c.requiredURL(path+".api_url", k.APIURL)
	}
}

func (c *checker) email(path string, k *Sink) {
	if k.Host == "" {
		c.errorf(path+".host", "is required")
	}
	// An unknown tls has no default port; say so once, at tls.
	if (k.Port != 0 || c.d.isSet(path+".port")) && (k.Port < 1 || k.Port > 65535) {
		c.errorf(path+".port", "must be from 1 to 65535")
	}
	c.oneOf(path+".tls", k.TLS, "starttls", "tls", "none")
	if k.TLS == "none" && k.Host != "" && !isLoopback(k.Host) {
		c.errorf(path+".tls", "none is only allowed for a loopback host, not %q", k.Host)
	}
	if k.Username.IsSet() != k.Password.IsSet() {
		c.errorf(path+".password", "username and password go together")
	}
	if k.From == "" {
		c.errorf(path+".from", "is required")
	} else {
		c.address(path+".from", k.From)
	}
	if len(k.To) == 0 && !k.ToAgent {
		c.errorf(path+".to", "to or to_agent is required")
	}
	for i, to := range k.To {
		c.address(indexed(path+".to", i), to)
	}
}

// isLoopback reports whether an SMTP host is this machine, the only place
// an unencrypted connection cannot be read on the way.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func (c *checker) match(path string, m *Match, cfg *Config) {
	for i, s := range m.Sources {
		if !slices.ContainsFunc(cfg.Sources, func(src Source) bool { return src.Name == s }) {
			c.errorf(indexed(path+".sources", i), "no source is named %q", s)
		}
	}
	for i, a := range m.Actions {
		c.oneOf(indexed(path+".actions", i), a, "created", "updated", "deleted")
	}
	for i, p := range m.Providers {
		c.oneOf(indexed(path+".providers", i), p, ProviderHemnet, ProviderReapit, ProviderRechat, ProviderGeneric)
	}
	for i, in := range m.Intents {
		c.oneOf(indexed(path+".intents", i), in, "buy", "sell", "rent", "let", "valuation", "other")
	}
	if m.Not != nil {
		if m.Not.Test != nil {
			c.errorf(path+".not.test", "not allowed inside not: use test at the top of match")
		}
		if m.Not.Not != nil {
			c.errorf(path+".not.not", "not cannot be nested")
		}
		c.match(path+".not", m.Not, cfg)
	}
}

// delivery checks the delivery defaults.
func (c *checker) delivery(path string, d Delivery) {
	positive(c, path+".concurrency", d.Concurrency)
	positive(c, path+".timeout", d.Timeout)
	positive(c, path+".backoff.initial", d.Backoff.Initial)
	positive(c, path+".backoff.max", d.Backoff.Max)
	positive(c, path+".max_attempts", d.MaxAttempts)
	positive(c, path+".max_age", d.MaxAge)
	if d.Backoff.Max > 0 && d.Backoff.Initial > d.Backoff.Max {
		c.errorf(path+".backoff.initial", "must not exceed backoff.max (%s)", d.Backoff.Max)
	}
}

// deliveryOverride checks what a sink overrides, and the ordering of its
// effective backoff, which may mix an override with the defaults.
func (c *checker) deliveryOverride(path string, o *DeliveryOverride, eff Delivery) {
	positivePtr(c, path+".concurrency", o.Concurrency)
	positivePtr(c, path+".timeout", o.Timeout)
	positivePtr(c, path+".max_attempts", o.MaxAttempts)
	positivePtr(c, path+".max_age", o.MaxAge)
	if b := o.Backoff; b != nil {
		positivePtr(c, path+".backoff.initial", b.Initial)
		positivePtr(c, path+".backoff.max", b.Max)
		if eff.Backoff.Initial > eff.Backoff.Max && eff.Backoff.Max > 0 {
			c.errorf(path+".backoff.initial", "must not exceed backoff.max (%s)", eff.Backoff.Max)
		}
	}
}

func positive[T int | Duration](c *checker, path string, v T) {
	if v <= 0 {
		c.errorf(path, "must be greater than 0")
	}
}

func positivePtr[T int | Duration](c *checker, path string, v *T) {
	if v != nil {
		positive(c, path, *v)
	}
}
