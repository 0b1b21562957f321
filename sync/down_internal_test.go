package sync

import (
	"errors"
	"testing"
	"time"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/email"
	"github.com/leadsync/leadsync/state"
)

// The rule that keeps a down sink's leads past max_attempts, case by case.
func TestDownRule(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	refused := errors.New("dial tcp 127.0.0.1:9: connect: connection refused")
	for _, c := range []struct {
		name             string
		lastOK, lastDown time.Time
		e                state.Entry
		err              error
		want             bool
	}{
		{"nothing delivered since the previous attempt", ago(2 * time.Hour), ago(time.Minute),
			state.Entry{Attempt: 29, Tried: ago(time.Hour).UnixNano()}, refused, true},
		{"nothing delivered since start", time.Time{}, time.Time{},
			state.Entry{Attempt: 29, Tried: ago(time.Hour).UnixNano()}, refused, true},
		{"an entry from before attempts recorded their time, after a restart", time.Time{}, time.Time{},
			state.Entry{Attempt: 40, Created: ago(30 * time.Hour).UnixNano()}, refused, true},
		{"back for a while, then down again", ago(49 * time.Minute), ago(time.Minute),
			state.Entry{Attempt: 29, Tried: ago(50 * time.Minute).UnixNano()}, refused, true},
		{"back and delivering: this lead is at fault", ago(time.Minute), ago(55 * time.Minute),
			state.Entry{Attempt: 29, Tried: ago(50 * time.Minute).UnixNano()}, refused, false},
		{"a gateway says the sink behind it does not answer", time.Time{}, time.Time{},
			state.Entry{Attempt: 29, Tried: ago(time.Hour).UnixNano()}, &sinks.HTTPError{Status: 502}, true},
		{"the sink answers 500: it is up", time.Time{}, time.Time{},
			state.Entry{Attempt: 29, Tried: ago(time.Hour).UnixNano()}, &sinks.HTTPError{Status: 500}, false},
		{"a CRM refuses our token: no lead gets through until it is fixed", ago(2 * time.Hour), ago(time.Minute),
			state.Entry{Attempt: 29, Tried: ago(time.Hour).UnixNano()}, &sinks.HTTPError{Status: 401}, true},
		{"SMTP AUTH refused: the password is wrong", time.Time{}, time.Time{},
			state.Entry{Attempt: 29, Tried: ago(time.Hour).UnixNano()}, &email.ReplyError{Command: "AUTH", Code: 535}, true},
		{"SMTP AUTH refused with another code: still the password", time.Time{}, time.Time{},
			state.Entry{Attempt: 29, Tried: ago(time.Hour).UnixNano()}, &email.ReplyError{Command: "AUTH", Code: 501}, true},
		{"a CRM forbids: an answer, it is up", time.Time{}, time.Time{},
			state.Entry{Attempt: 29, Tried: ago(time.Hour).UnixNano()}, &sinks.HTTPError{Status: 403}, false},
		{"SMTP refuses the recipient: it is up", time.Time{}, time.Time{},
			state.Entry{Attempt: 29, Tried: ago(time.Hour).UnixNano()}, &email.ReplyError{Command: "RCPT TO:<office@agency.example>", Code: 550}, false},
	} {
		d := &dispatcher{lastOK: c.lastOK, lastDown: c.lastDown}
		if got := d.down(&c.e, c.err); got != c.want {
			t.Errorf("%s: down = %v, want %v", c.name, got, c.want)
		}
	}
}
