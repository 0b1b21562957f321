package email_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/leadsync/leadsync/sinks/email"
)

func TestNewRejects(t *testing.T) {
	ok := email.Config{Name: "agents", Host: "smtp.example.com", Username: testUser, Password: testPass,
		From: "leads@agency.example", To: []string{testTo}}
	cases := map[string]struct {
		mod  func(*email.Config)
		want string
	}{
		"no host":           {func(c *email.Config) { c.Host = "" }, "host:"},
		"url as host":       {func(c *email.Config) { c.Host = "smtp://smtp.example.com" }, "host:"},
		"port":              {func(c *email.Config) { c.Port = 70000 }, "port:"},
		"tls":               {func(c *email.Config) { c.TLS = "ssl" }, "tls:"},
		"none not loopback": {func(c *email.Config) { c.TLS = email.TLSNone }, "tls: none"},
		"user alone":        {func(c *email.Config) { c.Password = "" }, "password:"},
		"password alone":    {func(c *email.Config) { c.Username = "" }, "password:"},
		"NUL in password":   {func(c *email.Config) { c.Password = "a\x00b-long-password" }, "password:"},
		"no from":           {func(c *email.Config) { c.From = "" }, "from:"},
		"bad from":          {func(c *email.Config) { c.From = "leads at agency" }, "from:"},
		"utf8 from":         {func(c *email.Config) { c.From = "lådan@agency.example" }, "from:"},
		"no recipients":     {func(c *email.Config) { c.To = nil }, "to:"},
		"bad to":            {func(c *email.Config) { c.To = []string{testTo, "nope"} }, "to[1]:"},
		"subject syntax":    {func(c *email.Config) { c.Subject = "{{.Who" }, "subject:"},
		"subject field":     {func(c *email.Config) { c.Subject = "{{.NoSuchField}}" }, "subject:"},
		"empty subject":     {func(c *email.Config) { c.Subject = "{{if false}}x{{end}}" }, "subject:"},
		"text syntax":       {func(c *email.Config) { c.TextTemplate = "{{end}}" }, "text_template:"},
		"text field":        {func(c *email.Config) { c.TextTemplate = "{{.Lead.Nope}}" }, "text_template:"},
		"html syntax":       {func(c *email.Config) { c.HTMLTemplate = "{{if}}" }, "html_template:"},
		"html field":        {func(c *email.Config) { c.HTMLTemplate = "<p>{{.Nope}}</p>" }, "html_template:"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			c.mod(&cfg)
			_, err := email.New(cfg)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("New = %v, want %q…", err, c.want)
			}
			if strings.Contains(err.Error(), testPass) {
				t.Error("error quotes the password")
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	for name, c := range map[string]email.Config{
		"loopback none": {Host: "127.0.0.1", TLS: email.TLSNone, From: "a@b.example", To: []string{"c@d.example"}},
		"localhost":     {Host: "localhost", TLS: email.TLSNone, From: "a@b.example", ToAgent: true},
		"ipv6 loopback": {Host: "::1", TLS: email.TLSNone, From: "a@b.example", ToAgent: true},
		"default tls":   {Host: "smtp.example.com", From: "Leads <a@b.example>", To: []string{"Ö <c@d.example>"}},
	} {
		if _, err := email.New(c); err != nil {
			t.Errorf("%s: New = %v", name, err)
		}
	}
}

func TestConfigPrintsNoSecrets(t *testing.T) {
	c := email.Config{Name: "agents", Host: "smtp.example.com", Port: 587, TLS: "starttls",
		Username: testUser, Password: testPass, From: "leads@agency.example"}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("sink", "config", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%v", &c), buf.String()} {
		if strings.Contains(out, testPass) || strings.Contains(out, testUser) {
			t.Errorf("%q shows a credential", out)
		}
	}
}
