package lead

import (
	"strconv"
	"strings"
)

// Plain-text renderings of lead parts, for sinks that write prose (email,
// CRM notes). Absent parts are left out, never invented.

// Text is the address on one line, "Street 1, 11122 City, Country"; "" for
// a nil address.
func (a *Address) Text() string {
	if a == nil {
		return ""
	}
	city := joinNonEmpty(" ", deref(a.PostalCode), deref(a.City))
	return joinNonEmpty(", ", deref(a.Street), city, deref(a.Country))
}

// PriceText is the price range, "250000–275000 GBP", "from 250000", "up to
// 3000 SEK"; "" when there is none.
func (in Interest) PriceText() string {
	num := func(f *float64) string {
		if f == nil {
			return ""
		}
		return strconv.FormatFloat(*f, 'f', -1, 64)
	}
	lo, hi := num(in.PriceMin), num(in.PriceMax)
	var s string
	switch {
	case lo != "" && hi != "":
		s = lo + "–" + hi
	case lo != "":
		s = "from " + lo
	case hi != "":
		s = "up to " + hi
	default:
		return ""
	}
	return joinNonEmpty(" ", s, deref(in.Currency))
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func joinNonEmpty(sep string, parts ...string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, sep)
}
