package email

// The templates: the defaults, the functions they may call, and
// parsing an operator's overrides. Overrides are tried on an example lead
// at New, so that a template that fails on ordinary data is a config error
// rather than a dead letter per lead.

import (
	_ "embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sync/lead"
)

// Default templates, used where Config leaves one empty.
var (
	//go:embed templates/subject.tmpl
	DefaultSubject string
	//go:embed templates/text.tmpl
	DefaultTextTemplate string
	//go:embed templates/html.tmpl
	DefaultHTMLTemplate string
)

// maxSubject bounds the subject in characters; a longer one is cut with "…".
const maxSubject = 200

// funcs are available to every template. tel makes a tel: URL of a phone
// number that html/template lets into an href.
var funcs = map[string]any{
	"tel": tel,
	"row": row,
}

// tel returns "tel:" and the number's digits (a leading + kept).
func tel(phone string) htmltemplate.URL {
	var b strings.Builder
	for i, r := range strings.TrimSpace(phone) {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return htmltemplate.URL("tel:" + b.String())
}

// row is a "  Label:  value" line of the text template, "" for no value;
// further lines of value are indented to match.
func row(label, value string) string {
	if value == "" {
		return ""
	}
	pad := strings.Repeat(" ", 22)
	value = strings.ReplaceAll(strings.TrimSpace(value), "\n", "\n"+pad)
	return fmt.Sprintf("  %-19s %s\n", label+":", value)
}

type templates struct {
	subject *template.Template
	text    *template.Template
	html    *htmltemplate.Template
}

// parseTemplates parses c's templates or the defaults and tries them.
func parseTemplates(c Config) (*templates, error) {
	var t templates
	var err error
	if t.subject, err = template.New("subject").Funcs(funcs).Parse(or(c.Subject, DefaultSubject)); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	if t.text, err = template.New("text").Funcs(funcs).Parse(or(c.TextTemplate, DefaultTextTemplate)); err != nil {
		return nil, fmt.Errorf("text_template: %w", err)
	}
	if t.html, err = htmltemplate.New("html").Funcs(funcs).Parse(or(c.HTMLTemplate, DefaultHTMLTemplate)); err != nil {
		return nil, fmt.Errorf("html_template: %w", err)
	}
	for _, d := range []Data{exampleData(), newData(sinks.Delivery{ID: "msg_example"}, &lead.Lead{})} {
		if _, _, _, err := t.render(d); err != nil {
			return nil, err
		}
	}
	return &t, nil
}

func or(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// render executes the three templates; errors name the template's key.
func (t *templates) render(d Data) (subject, text, html string, err error) {
	var b strings.Builder
	if err := t.subject.Execute(&b, d); err != nil {
		return "", "", "", fmt.Errorf("subject: %w", err)
	}
	subject = cut(oneLine(b.String()), maxSubject)
	if subject == "" {
		return "", "", "", errors.New("subject: the template made an empty subject")
	}
	b.Reset()
	if err := t.text.Execute(&b, d); err != nil {
		return "", "", "", fmt.Errorf("text_template: %w", err)
	}
	text = b.String()
	b.Reset()
	if err := t.html.Execute(&b, d); err != nil {
		return "", "", "", fmt.Errorf("html_template: %w", err)
	}
	return subject, text, b.String(), nil
}

// cut shortens s to n characters, the last one "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
