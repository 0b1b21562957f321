package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	lsync "github.com/leadsync/leadsync/sync"
)

func newDLQ(g *globals) *cobra.Command {
	dlq := &cobra.Command{
		Use:   "dlq",
		Short: "Dead letters: deliveries a sink refused for good or that ran out of attempts",
		Long: `Dead letters are deliveries that a sink refused for good (a 4xx other than 408/429)
or that ran out of max_attempts / max_age. Each keeps the lead, why it gave up, the
attempts made and the sink's last status and (short) answer. Fix the cause, then
retry them; or drop them.`,
	}
	var sink string
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List dead letters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, _, closeFn, err := adminFor(g, readOnly)
			if err != nil {
				return err
			}
			defer closeFn()
			if err := knownSink(cmd.Context(), a, sink); err != nil {
				return err
			}
			dl, err := a.DeadLetters(cmd.Context(), sink)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.out).Encode(dl)
			}
			if len(dl) == 0 {
				fmt.Fprintln(g.errw, "no dead letters")
				return nil
			}
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSINK\tLEAD\tATTEMPTS\tSTATUS\tDEAD SINCE\tREASON")
			for _, d := range dl {
				status := "-" // no answer: a connection error or a timeout
				if d.Status != 0 {
					status = fmt.Sprint(d.Status)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.ID, d.Sink, d.LeadID, d.Attempt, status,
					time.Unix(0, d.DeadAt).Local().Format("2006-01-02 15:04:05"), truncate(d.Reason, 70))
			}
			tw.Flush()
			return nil
		},
	}
	list.Flags().StringVar(&sink, "sink", "", "only this sink")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one dead letter: the lead, why, attempts, the sink's last answer",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, _, closeFn, err := adminFor(g, readOnly)
			if err != nil {
				return err
			}
			defer closeFn()
			d, err := a.DeadLetter(cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("%w (see leadsync dlq list)", err)
			}
			enc := json.NewEncoder(g.out)
			enc.SetIndent("", "  ")
			return enc.Encode(d)
		},
	}

	var all bool
	var retrySink string
	retry := &cobra.Command{
		Use:   "retry ID... | --all [--sink S]",
		Short: "Move dead letters back into their outboxes, due now, attempts reset",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && !all {
				return errors.New("name dead letter ids, or --all (optionally with --sink)")
			}
			if len(args) > 0 && all {
				return errors.New("give ids or --all, not both")
			}
			a, _, closeFn, err := adminFor(g, readWrite)
			if err != nil {
				return err
			}
			defer closeFn()
			if err := knownSink(cmd.Context(), a, retrySink); err != nil {
				return err
			}
			n, err := a.RetryDead(cmd.Context(), retrySink, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%d dead letters queued again\n", n)
			if len(args) > 0 && n < len(args) {
				fmt.Fprintf(g.errw, "%d of the ids were not found, or their lead has a newer delivery pending\n", len(args)-n)
				return exitError{code: 1}
			}
			return nil
		},
	}
	retry.Flags().BoolVar(&all, "all", false, "every dead letter (of --sink, if given)")
	retry.Flags().StringVar(&retrySink, "sink", "", "only this sink")
	var dropAll bool
	var dropSink string
	drop := &cobra.Command{
		Use:   "drop ID... | --all --sink S",
		Short: "Delete dead letters for good",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0 && !dropAll:
				return errors.New("name dead letter ids, or --all --sink S")
			case len(args) > 0 && dropAll:
				return errors.New("give ids or --all, not both")
			case dropAll && dropSink == "":
				return errors.New("--all drops every dead letter of one sink: name it with --sink")
			}
			a, _, closeFn, err := adminFor(g, readWrite)
			if err != nil {
				return err
			}
			defer closeFn()
			if err := knownSink(cmd.Context(), a, dropSink); err != nil {
				return err
			}
			n, err := a.DropDead(cmd.Context(), dropSink, args)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%d dead letters dropped\n", n)
			if len(args) > 0 && n < len(args) {
				fmt.Fprintf(g.errw, "%d of the ids were not found\n", len(args)-n)
				return exitError{code: 1}
			}
			return nil
		},
	}
	drop.Flags().BoolVar(&dropAll, "all", false, "every dead letter of --sink")
	drop.Flags().StringVar(&dropSink, "sink", "", "the sink (with --all)")
	dlq.AddCommand(list, show, retry, drop)
	return dlq
}

// knownSink refuses a --sink that names no sink, configured or with
// deliveries in the store (a sink removed from the config keeps its dead
// letters): a typo would otherwise read as "no dead letters".
func knownSink(ctx context.Context, a lsync.Admin, name string) error {
	if name == "" {
		return nil
	}
	st, err := a.Status(ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, s := range st.Sinks {
		if s.Name == name {
			return nil
		}
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return fmt.Errorf("--sink %q: there are no sinks, in the config or the store", name)
	}
	return fmt.Errorf("--sink %q: no such sink (the sinks are %s)", name, strings.Join(names, ", "))
}
