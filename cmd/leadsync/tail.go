package main

import (
	"encoding/json"
	"fmt"
	"os/signal"
	"strings"
	"syscall"
	"time"

	lsync "github.com/leadsync/leadsync/sync"
	"github.com/spf13/cobra"
)

func newTail(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tail [--json]",
		Short: "Follow leads live as the daemon takes them in and delivers them",
		Long: `Print a line for every event the running daemon commits (accepted, duplicate,
quarantined, ignored, stale: which sinks it was queued for) and for every delivery
attempt (delivered, retry, dead, interrupted), until interrupted. Lines carry ids,
never personal data; look a lead up in a sink or with "leadsync dlq show".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadLayout(g)
			if err != nil {
				return err
			}
			c, ok := lsync.Dial(cfg.AdminSocket)
			if !ok {
				return fmt.Errorf("no daemon answers on %s: tail follows a running daemon", cfg.AdminSocket)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			enc := json.NewEncoder(g.out)
			return c.Tail(ctx, func(ev lsync.TailEvent) error {
				if asJSON {
					return enc.Encode(ev)
				}
				_, err := fmt.Fprintln(g.out, tailLine(ev))
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per line")
	return cmd
}

func tailLine(ev lsync.TailEvent) string {
	t := ev.Time.Local().Format(time.TimeOnly)
	switch ev.Kind {
	case "event":
		line := fmt.Sprintf("%s  %-8s %-11s %s", t, ev.Source, ev.Status, ev.EventID)
		if ev.LeadID != "" {
			line += " " + ev.LeadID
		}
		if len(ev.Sinks) > 0 {
			line += " → " + strings.Join(ev.Sinks, ", ")
		}
		if ev.Reason != "" {
			line += " (" + ev.Reason + ")"
		}
		return line
	case "delivery":
		line := fmt.Sprintf("%s  %-8s %-11s %s attempt %d, %s", t, ev.Sink, ev.Status, ev.LeadID, ev.Attempt, ev.Took)
		if ev.Reason != "" {
			line += ": " + truncate(ev.Reason, 100)
		}
		return line
	case "skipped":
		return fmt.Sprintf("%s  (%d events skipped: this terminal fell behind)", t, ev.Attempt)
	}
	return t + " " + ev.Kind
}
