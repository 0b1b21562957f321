package config

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"0s", 0, true},
		{"10m", 10 * time.Minute, true},
		{"720h", 720 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{" 15s ", 15 * time.Second, true},
		{"10", 0, false},
		{"-5s", 0, false},
		{"7d", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || got.D() != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got.D(), err, tt.want, tt.ok)
		}
	}
}

func TestDurationString(t *testing.T) {
	for in, want := range map[time.Duration]string{
		0:                          "0",
		720 * time.Hour:            "720h",
		10 * time.Minute:           "10m",
		90 * time.Minute:           "1h30m",
		time.Hour + time.Second:    "1h0m1s",
		1500 * time.Millisecond:    "1.5s",
		10*time.Hour + time.Minute: "10h1m",
	} {
		if got := Duration(in).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", in, got, want)
		}
		if back, err := ParseDuration(Duration(in).String()); err != nil || back.D() != in {
			t.Errorf("round trip of %v = %v, %v", in, back.D(), err)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"1MiB", 1 << 20, true},
		{"512KiB", 512 << 10, true},
		{"1MB", 1_000_000, true},
		{"2 gib", 2 << 30, true},
		{"100B", 100, true},
		{"0", 0, true},
		{"1XB", 0, false},
		{"MiB", 0, false},
		{"-1MiB", 0, false},
		{"1.5MiB", 0, false},
		{"9223372036854775807GiB", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err == nil) != tt.ok || int64(got) != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	for in, want := range map[ByteSize]string{
		0: "0", 1 << 20: "1MiB", 512 << 10: "512KiB", 1_000_000: "1MB", 1500: "1500", 3 << 30: "3GiB",
	} {
		if got := in.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", in, got, want)
		}
		if back, err := ParseByteSize(in.String()); err != nil || back != in {
			t.Errorf("round trip of %d = %d, %v", in, back, err)
		}
	}
}

// TestUnmarshalYAML checks the custom types on their own, as plain
// yaml.Unmarshal uses them.
func TestUnmarshalYAML(t *testing.T) {
	var v struct {
		D    Duration  `yaml:"d"`
		B    ByteSize  `yaml:"b"`
		Name Signature `yaml:"name"`
		Map  Signature `yaml:"map"`
		Skip Duration  `yaml:"skip"`
	}
	v.Skip = Duration(time.Second)
	in := "d: 10m\nb: 512KiB\nname: legacy\nmap: {header: X-Sig, signed: '{body}', secret: s}\nskip:\n"
	if err := yaml.Unmarshal([]byte(in), &v); err != nil {
		t.Fatal(err)
	}
	if v.D.D() != 10*time.Minute || v.B != 512<<10 || v.Name.Scheme != "legacy" ||
		v.Map.Header != "X-Sig" || v.Map.Secret.Reveal() != "s" || v.Skip.D() != time.Second {
		t.Errorf("got %+v", v)
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"d: 10m\n", "b: 512KiB\n", "name: legacy\n", "header: X-Sig\n", "secret: '[secret]'\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	for _, bad := range []string{"d: 10", "d: [1]", "b: 1XB", "b: {a: 1}", "name: [a]"} {
		if err := yaml.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
