package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as Go writes it ("10m", "720h",
// "1h30m") or as a bare 0. Negative durations are refused: no setting of
// leadsync means anything with one.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseDuration parses a Duration as the config file spells it.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("must be a duration such as 10s, 10m or 720h, not %q", s)
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return Duration(d), nil
}

// String writes the duration without the zero units Go's form carries
// ("720h", not "720h0m0s"), so that it reads as it was written.
func (d Duration) String() string {
	if d == 0 {
		return "0"
	}
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// UnmarshalYAML implements yaml.Unmarshaler. A null leaves the value as is,
// so that defaults apply.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return errors.New("must be a duration such as 10s, 10m or 720h")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// ByteSize is a size in bytes, written as a plain number of bytes or with a
// unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
// Units are case-insensitive.
type ByteSize int64

// units maps each spelling to its multiplier; IEC first so String prefers
// them.
var units = []struct {
	name string
	mult int64
}{
	{"GiB", 1 << 30}, {"GB", 1e9},
	{"MiB", 1 << 20}, {"MB", 1e6},
	{"KiB", 1 << 10}, {"KB", 1e3},
	{"B", 1},
}

// ParseByteSize parses a ByteSize as the config file spells it.
func ParseByteSize(s string) (ByteSize, error) {
	bad := fmt.Errorf("must be a size such as 1MiB, 512KiB or 1048576, not %q", s)
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
	if i < 0 {
		i = len(s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, bad
	}
	unit := strings.TrimSpace(s[i:])
	mult := int64(1)
	if unit != "" {
		mult = 0
		for _, u := range units {
			if strings.EqualFold(unit, u.name) {
				mult = u.mult
			}
		}
	}
	if mult == 0 {
		return 0, bad
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return ByteSize(n * mult), nil
}

// String writes the size with the largest unit that divides it exactly.
func (b ByteSize) String() string {
	for _, u := range units[:len(units)-1] {
		if b != 0 && int64(b)%u.mult == 0 {
			return strconv.FormatInt(int64(b)/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

// UnmarshalYAML implements yaml.Unmarshaler. A null leaves the value as is,
// so that defaults apply.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return errors.New("must be a size such as 1MiB or 512KiB")
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

// isNull reports whether n is an explicit or implicit YAML null (`key:`).
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}
