package rechat

// The channel id is in the URL's path, where sinks.RedactURL (which drops
// user info and query) does not look. This file builds the endpoint and its
// redacted twin, and keeps the channel out of every error Deliver returns:
// the *url.Error of a failed request gets the redacted URL, and a Rechat
// answer that echoes the channel is scrubbed.

import (
	"errors"
	"net/url"
	"strings"

	"github.com/leadsync/leadsync/sinks"
)

// redacted stands for the channel in errors.
const redacted = "***"

// endpoint returns the capture URL of channel under apiURL, and the same
// URL with the channel replaced by "***".
func endpoint(apiURL, channel string) (full, safe string, err error) {
	u, err := url.Parse(apiURL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", "", errors.New("api_url: must be an absolute http or https URL")
	case u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", "", errors.New("api_url: must not have user info, a query or a fragment")
	case channel == "":
		return "", "", errors.New("channel: is required")
	case !validChannel(channel):
		return "", "", errors.New("channel: must be a Rechat lead channel id: letters, digits, '-' and '_'")
	}
	base := strings.TrimRight(u.String(), "/") + "/leads/channels/"
	return base + channel + "/webhook", base + redacted + "/webhook", nil
}

// validChannel reports whether s can be a path segment as is. Rechat's ids
// are UUIDs; anything else that needs no escaping is let through.
func validChannel(s string) bool {
	for _, c := range []byte(s) {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}

// channelForms is what to scrub: the channel, matched without regard to
// case, as a UUID may come back upper-cased. A very short channel is left
// alone (New's check lets it through): it would blank out ordinary text.
func channelForms(channel string) []string {
	if len(channel) < 6 {
		return nil
	}
	return []string{channel}
}

// scrub removes the channel from the body snippet of err, should Rechat
// have echoed it ("channel … not found").
func (s *Sink) scrub(err error) error {
	var he *sinks.HTTPError
	if errors.As(err, &he) {
		for _, c := range s.channel {
			he.Body = replaceFold(he.Body, c, redacted)
		}
	}
	return err
}

// replaceFold replaces every occurrence of the ASCII string old in s,
// regardless of case, by repl.
func replaceFold(s, old, repl string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+len(old) <= len(s) && strings.EqualFold(s[i:i+len(old)], old) {
			b.WriteString(repl)
			i += len(old)
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}
