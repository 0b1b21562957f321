package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newReplay(g *globals) *cobra.Command {
	var since, source string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "replay EVENT_ID... | --since TIME [--source S]",
		Short: "Re-map stored raw events (after a mapping fix) and queue what changed",
		Long: `Re-map stored requests with this build's mapping and queue the leads that came out
different (or that were quarantined and now map) for their sinks, under a new
delivery id. Leads that map the same are left alone. Requests are not verified again.

Pick the requests by event id (see the daemon's log or a sink's event_id), or every
request since a time (RFC 3339, or a duration back from now such as 24h), optionally
of one source.`,
		Example: `  leadsync replay ev_0p0tfjs2nw1px0wbvpd29dspd2
  leadsync replay --since 24h --source hemnet`,
		RunE: func(cmd *cobra.Command, args []string) error {
			from, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			if len(args) == 0 && from.IsZero() {
				return errors.New("name event ids, or --since TIME")
			}
			if len(args) > 0 && (since != "" || source != "") {
				return errors.New("give event ids or --since/--source, not both")
			}
			a, _, closeFn, err := adminFor(g, engine)
			if err != nil {
				return err
			}
			defer closeFn()
			res, err := a.Replay(cmd.Context(), args, from, source)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.out).Encode(res)
			}
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "EVENT\tSOURCE\tSTATUS\tLEAD\tSINKS\tREASON")
			counts := map[string]int{}
			for _, r := range res {
				counts[r.Status]++
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", dash(r.EventID), r.Source, r.Status, dash(r.LeadID),
					dash(strings.Join(r.Sinks, ",")), dash(r.Reason))
			}
			tw.Flush()
			fmt.Fprintf(g.errw, "%d events: %s\n", len(res), countsLine(counts))
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "every request received since (RFC 3339 or e.g. 24h)")
	cmd.Flags().StringVar(&source, "source", "", "only this source (with --since)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// countsLine says how many results had each status: replayed and unchanged
// always, then every other status that occurred (quarantined, ignored,
// skipped…), so the counts add up to the total.
func countsLine(counts map[string]int) string {
	parts := []string{fmt.Sprintf("%d replayed", counts["replayed"]), fmt.Sprintf("%d unchanged", counts["unchanged"])}
	var others []string
	for status := range counts {
		if status != "replayed" && status != "unchanged" {
			others = append(others, status)
		}
	}
	slices.Sort(others)
	for _, status := range others {
		parts = append(parts, fmt.Sprintf("%d %s", counts[status], status))
	}
	return strings.Join(parts, ", ")
}
