package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/config"
	"github.com/spf13/cobra"
)

func newStatus(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show per-source counts, per-sink queues and reconciliation state",
		Long: `Show, per source: accepted, duplicates, rejected, quarantined, ignored, stale, last
event; per sink: pending, dead letters, oldest pending age, last success, last error;
and per reconciled customer: last run, cursor, applicants seen, leads found only by
reconciliation.

Talks to the running daemon over its admin socket; with the daemon stopped it reads
the store directly, and the config file for the sources and sinks it names. Then
the figures a running daemon keeps in memory since its start are empty: rejected,
each sink's last success and last error, and reconciliation's last run, last error,
applicants seen and leads found only by reconciliation.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, cfg, closeFn, err := adminFor(g, readOnly)
			if err != nil {
				return err
			}
			defer closeFn()
			s, err := a.Status(cmd.Context())
			if err != nil {
				return err
			}
			if !s.Running {
				fillFromConfig(s, cfg)
			}
			if asJSON {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				return enc.Encode(s)
			}
			printStatus(g.out, s, time.Now())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

// fillFromConfig adds what the store alone does not know, from the config
// file, as a running daemon does from its own: each source's provider and
// each sink's type, which sinks are configured (the others were removed and
// keep their queues), and configured sources and sinks with nothing stored
// yet.
func fillFromConfig(s *lsync.Status, cfg *config.Config) {
	seen := map[string]bool{}
	for i := range s.Sources {
		seen[s.Sources[i].Name] = true
		for _, c := range cfg.Sources {
			if c.Name == s.Sources[i].Name && s.Sources[i].Provider == "" {
				s.Sources[i].Provider = c.Provider
			}
		}
	}
	for _, c := range cfg.Sources {
		if !seen[c.Name] {
			s.Sources = append(s.Sources, lsync.SourceStatus{Name: c.Name, Provider: c.Provider})
		}
	}
	slices.SortFunc(s.Sources, func(a, b lsync.SourceStatus) int { return strings.Compare(a.Name, b.Name) })
	clear(seen)
	for i := range s.Sinks {
		seen[s.Sinks[i].Name] = true
		for _, c := range cfg.Sinks {
			if c.Name == s.Sinks[i].Name {
				s.Sinks[i].Configured = true
				if s.Sinks[i].Type == "" {
					s.Sinks[i].Type = c.Type
				}
			}
		}
	}
	for _, c := range cfg.Sinks {
		if !seen[c.Name] {
			s.Sinks = append(s.Sinks, lsync.SinkStatus{Name: c.Name, Type: c.Type, Configured: true})
		}
	}
	slices.SortFunc(s.Sinks, func(a, b lsync.SinkStatus) int { return strings.Compare(a.Name, b.Name) })
}

// printStatus prints s as tables. Configured is known whether the daemon
// runs or not (see fillFromConfig): a sink that is not shows as removed.
func printStatus(out io.Writer, s *lsync.Status, now time.Time) {
	if s.Running {
		fmt.Fprintf(out, "daemon: running %s, since %s\n\n", s.Version, ago(s.Started, now))
	} else {
		fmt.Fprintf(out, "daemon: not running (read from the store)\n\n")
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tPROVIDER\tACCEPTED\tDUPLICATES\tREJECTED\tQUARANTINED\tIGNORED\tSTALE\tLAST EVENT")
	for _, x := range s.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", x.Name, dash(x.Provider), x.Accepted, x.Duplicates,
			x.Rejected, x.Quarantined, x.Ignored, x.Stale, ago(x.LastEvent, now))
	}
	tw.Flush()
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SINK\tTYPE\tPENDING\tDEAD\tOLDEST PENDING\tLAST SUCCESS\tLAST ERROR")
	for _, x := range s.Sinks {
		typ := dash(x.Type)
		if !x.Configured {
			typ = "(removed)"
		}
		oldest := "-"
		if x.Pending > 0 {
			oldest = (time.Duration(x.OldestPendingAge) * time.Second).String()
		}
		lastErr := "-"
		if x.LastError != "" {
			lastErr = ago(x.LastErrorAt, now) + ": " + truncate(string(x.LastError), 80)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", x.Name, typ, x.Pending, x.Dead, oldest, ago(x.LastSuccess, now), lastErr)
	}
	tw.Flush()
	if len(s.Reconcile) > 0 {
		fmt.Fprintln(out)
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RECONCILE\tCUSTOMER\tLAST RUN\tCURSOR\tSEEN\tFOUND ONLY BY RECONCILE\tLAST ERROR")
		for _, x := range s.Reconcile {
			cursor := "-"
			if x.Cursor != nil {
				cursor = x.Cursor.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", x.Source, x.Customer, ago(x.LastRun, now), cursor,
				x.Seen, x.Found, dash(truncate(string(x.LastError), 60)))
		}
		tw.Flush()
	}
}

func ago(t *time.Time, now time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	d := now.Sub(*t).Round(time.Second)
	return fmt.Sprintf("%s (%s ago)", t.Local().Format("2006-01-02 15:04:05"), d)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
