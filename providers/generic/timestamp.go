package generic

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/leadsync/leadsync/sync/lead"
)

// checkTimestamp checks the timestamp header against now when a window is
// set. It runs after the signature, so that a request not from the sender
// at all is reported as such, not as a clock problem.
func (sg *signature) checkTimestamp(h http.Header, now time.Time) error {
	if sg.skew <= 0 {
		return nil
	}
	raw := strings.TrimSpace(h.Get(sg.tsHeader))
	if raw == "" {
		return fmt.Errorf("missing %s header (required while max_clock_skew is %s)", sg.tsHeader, sg.skew)
	}
	ts, ok := parseTimestamp(raw, sg.tsUnit)
	if !ok && sg.tsUnit == UnitAuto {
		return fmt.Errorf("%s %q is not a timestamp (Unix seconds or milliseconds, or RFC 3339)", sg.tsHeader, printable(raw))
	}
	if !ok {
		return fmt.Errorf("%s %q is not a timestamp in unit %s", sg.tsHeader, printable(raw), sg.tsUnit)
	}
	if d := now.Sub(ts); d > sg.skew || d < -sg.skew {
		return fmt.Errorf("timestamp %s (%s) outside window of ±%s around %s",
			ts.UTC().Format(lead.TimeFormat), describeOffset(d), sg.skew, now.UTC().Format(lead.TimeFormat))
	}
	return nil
}

// describeOffset says how far a timestamp is from now in words, because the
// sign of a bare duration is easy to misread in a log line.
func describeOffset(d time.Duration) string {
	if d >= 0 {
		return d.Round(time.Millisecond).String() + " in the past"
	}
	return (-d).Round(time.Millisecond).String() + " in the future"
}

// Bounds of the timestamps accepted: from 1970 to the end of year 9999, so
// that each formats as an RFC 3339 date (lead.Time) and arithmetic on it
// cannot overflow.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)
)

// autoMillis is where UnitAuto starts reading a number as milliseconds.
const autoMillis = 100_000_000_000

// parseTimestamp parses a timestamp header in unit (s, ms, rfc3339, auto).
func parseTimestamp(s, unit string) (time.Time, bool) {
	if unit == UnitAuto {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil:
			unit = UnitRFC3339
		case n >= autoMillis:
			unit = UnitMillis
		default:
			unit = UnitSeconds
		}
	}
	var t time.Time
	switch unit {
	case UnitRFC3339:
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, false
		}
		t = v
	case UnitMillis, UnitSeconds:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 || n > maxTime.UnixMilli() {
			return time.Time{}, false
		}
		if t = time.UnixMilli(n); unit == UnitSeconds {
			if n > maxTime.Unix() {
				return time.Time{}, false
			}
			t = time.Unix(n, 0)
		}
	default:
		return time.Time{}, false
	}
	return t, inRange(t)
}

func inRange(t time.Time) bool { return !t.Before(minTime) && !t.After(maxTime) }

// formatTimestamp writes t as a timestamp header in unit (auto: seconds).
func formatTimestamp(t time.Time, unit string) string {
	switch unit {
	case UnitMillis:
		return strconv.FormatInt(t.UnixMilli(), 10)
	case UnitRFC3339:
		return t.UTC().Format(time.RFC3339)
	}
	return strconv.FormatInt(t.Unix(), 10)
}
