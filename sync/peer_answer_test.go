package sync_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/email"
	lsync "github.com/leadsync/leadsync/sync"
)

// TestPeerAnswerStaysOutOfLogsTailAndStatus: an SMTP server's refusal names
// the recipient (here the lead's agent) in the command and in the reply. The
// dead letter keeps it; the log lines, the tail and status must not.
func TestPeerAnswerStaysOutOfLogsTailAndStatus(t *testing.T) {
	const addr = "agent.anna@agency.example"
	rec := newRecorder()
	rec.answer = func(sinks.Delivery, int) error {
		return sinks.Permanent(&email.ReplyError{Command: "RCPT TO:<" + addr + ">", Code: 550,
			Reply: "5.1.1 <" + addr + ">: Recipient address rejected"})
	}
	var logs *logLines
	h := start(t, []lsync.SinkSpec{{Name: "mail", Sink: rec, Delivery: fast}}, func(o *lsync.Options) { logs = captureLog(o) })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tail := make(chan lsync.TailEvent, 16)
	go h.eng.Tail(ctx, func(ev lsync.TailEvent) error { tail <- ev; return nil })
	time.Sleep(50 * time.Millisecond) // let Tail subscribe

	b := hemnet.Sample("c-smtp")
	if code, m := post(t, h.url+"/webhooks/hemnet", b, signed(b)); code != 200 {
		t.Fatalf("post: %d %v", code, m)
	}
	var ev lsync.TailEvent
	for timeout := time.After(5 * time.Second); ev.Kind != "delivery"; {
		select {
		case ev = <-tail:
		case <-timeout:
			t.Fatal("no delivery in the tail")
		}
	}
	if ev.Status != "dead" || strings.Contains(ev.Reason, addr) || !strings.Contains(ev.Reason, "550") {
		t.Errorf("tail event = %+v: want dead, with the code and without the address", ev)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		dl, _ := h.store.DeadLetters("mail")
		if len(dl) == 1 {
			if !strings.Contains(dl[0].Reason+dl[0].Response, addr) {
				t.Errorf("dead letter lost the peer's answer: %+v", dl[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no dead letter")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s, err := h.eng.Status()
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := json.Marshal(s); strings.Contains(string(j), addr) || s.Sinks[0].LastError == "" {
		t.Errorf("status = %s", j)
	}
	if lines := logs.find("delivery failed for good; moved to dead letters"); len(lines) != 1 {
		t.Errorf("dead-letter log lines = %v", lines)
	}
	logs.mu.Lock()
	all := logs.buf.String()
	logs.mu.Unlock()
	if strings.Contains(all, addr) {
		t.Errorf("the recipient reached the log:\n%s", all)
	}
}
