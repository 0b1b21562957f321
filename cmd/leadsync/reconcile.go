package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	lsync "github.com/leadsync/leadsync/sync"
)

func newReconcile(g *globals) *cobra.Command {
	var source, since string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "reconcile [--source S] [--since TIME]",
		Short: "Poll the providers' APIs now for what webhooks missed (Reapit)",
		Long: `Run reconciliation now: page through the entities modified since each customer's
cursor (minus the source's reconcile.overlap) and commit them like webhooks; the
webhook and the poll of one change are one event, so only what webhooks missed
becomes a new lead. The daemon does this on each source's reconcile.schedule.
Without --source, every source with a reconcile: block runs; --source S also runs
a source without one.

A source with customers: empty (every customer) polls the customers that have
sent it a webhook (each from its first one); list customer ids in customers: to
poll a customer before its first webhook.

--since backfills from an earlier time (RFC 3339, or a duration back from now such
as 72h) instead of the cursor; the cursor still only moves forward.

With the daemon stopped, the leads found are committed to the store and delivered
when it starts.`,
		Example: `  leadsync reconcile
  leadsync reconcile --source reapit --since 2024-01-01T00:00:00Z
  leadsync reconcile --source reapit --since 168h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			a, _, closeFn, err := adminFor(g, engine)
			if err != nil {
				return err
			}
			defer closeFn()
			res, err := a.Reconcile(cmd.Context(), source, from)
			if err != nil {
				return err
			}
			failed := false
			for _, r := range res {
				failed = failed || r.Error != ""
			}
			if asJSON {
				if res == nil {
					res = []lsync.RunResult{}
				}
				if err := json.NewEncoder(g.out).Encode(res); err != nil {
					return err
				}
			} else if len(res) == 0 {
				fmt.Fprintln(g.errw, "no customer to poll: list them in customers:, or wait for a customer's first webhook")
			} else {
				tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "SOURCE\tCUSTOMER\tPAGES\tSEEN\tFOUND ONLY BY RECONCILE\tERROR")
				for _, r := range res {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\n", r.Source, r.Customer, r.Pages, r.Seen, r.Found, dash(r.Error))
				}
				tw.Flush()
			}
			if failed {
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "only this source, with or without a reconcile: block (default: every source with one)")
	cmd.Flags().StringVar(&since, "since", "", "backfill from this time (RFC 3339) or this long ago (e.g. 72h)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// parseSince reads an RFC 3339 time or a duration back from now; "" is zero.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time (2024-01-01T00:00:00Z) or a duration (72h)", s)
}
