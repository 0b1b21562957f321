package sync

import (
	"log/slog"
	"testing"

	"github.com/leadsync/leadsync/sync/config"
	"github.com/leadsync/leadsync/sync/lead"
)

// TestPreviewOfNothingToSend: a sink that would send nothing for a lead (a
// Rechat sink, for a deleted lead) previews as "(nothing to send)", not as
// an empty string.
func TestPreviewOfNothingToSend(t *testing.T) {
	sc := config.Sink{Name: "rc", Type: config.SinkRechat, APIURL: "https://api.rechat.example",
		Channel: config.NewSecret("00000000-0000-4000-8000-000000000000")}
	l := &lead.Lead{Schema: lead.Schema, ID: "ld_1", EventID: "ev_1", Action: lead.ActionDeleted}
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got := preview(sc, l, b, slog.New(slog.DiscardHandler)); got != "(nothing to send)" {
		t.Errorf("preview = %q", got)
	}
}
