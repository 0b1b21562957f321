package email

import (
	"context"
	"net/textproto"
	"strings"
	"testing"
)

// A reply that arrives as the deadline passes is not withheld as a peer
// answer (the error is a timeout), so its text must stay out of the error.
func TestFailAtDeadlineKeepsTheReplyOut(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := (&Sink{}).fail(ctx, "RCPT TO:<assigned agent>",
		&textproto.Error{Code: 550, Msg: "5.1.1 <agent@agency.example>: Recipient address rejected"})
	if err == nil || strings.Contains(err.Error(), "agent@agency.example") || !strings.Contains(err.Error(), "550") {
		t.Fatalf("fail = %v", err)
	}
}
