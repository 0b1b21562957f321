package main

import (
	"errors"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	lsync "github.com/leadsync/leadsync/sync"
)

func newErase(g *globals) *cobra.Command {
	var email, phone string
	cmd := &cobra.Command{
		Use:   "erase --email E | --phone P",
		Short: "Remove a person's data from events, leads, outbox, dead letters and file sinks (GDPR art. 17)",
		Long: `Remove everything about a person, found by email and/or phone: stored requests,
events, leads, pending deliveries and dead letters, and their lines in file sinks.
The database file is then rewritten, so that no freed page keeps their bytes.

Dedupe records stay (they hold no personal data): a provider retrying the same
webhook gets "duplicate", and the lead is not created again.

Leads already delivered to a CRM, a webhook or a mailbox must be erased there too.
Works with the daemon running (over the admin socket; intake pauses while the file
is rewritten) or stopped.`,
		Example: `  leadsync erase --email john.doe@example.com
  leadsync erase --phone "+46 70 111 22 23"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" && phone == "" {
				return errors.New("give --email or --phone (or both)")
			}
			a, _, closeFn, err := adminFor(g, engine)
			if err != nil {
				return err
			}
			defer closeFn()
			counts, err := a.Erase(cmd.Context(), email, phone)
			keys := make([]string, 0, len(counts))
			for k := range counts {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(g.out, "%-20s %d\n", k, counts[k])
			}
			if errors.Is(err, lsync.ErrNoAnswer) {
				return fmt.Errorf("%w; the erase may be done only in part: run the same erase again once the daemon is back (or with it stopped)", err)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the person's email address")
	cmd.Flags().StringVar(&phone, "phone", "", "the person's phone number (any formatting)")
	return cmd
}
