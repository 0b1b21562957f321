package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// exitError carries an exit code through cobra without printing twice.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// run executes the command line and returns the process exit code.
func run(args []string) int {
	root := newRoot(os.Stdout, os.Stderr)
	root.SetArgs(args)
	err := root.Execute()
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintln(os.Stderr, "leadsync:", err)
		return 1
	}
}

// globals are the flags every command shares.
type globals struct {
	config string
	out    io.Writer
	errw   io.Writer
}

func newRoot(out, errw io.Writer) *cobra.Command {
	g := &globals{out: out, errw: errw}
	root := &cobra.Command{
		Use:   "leadsync",
		Short: "Catch every lead: webhooks in, durable store, delivery to your sinks",
		Long: `leadsync accepts lead webhooks (Hemnet, Reapit, Rechat, any signed JSON webhook),
answers 200 only once the lead is committed to its bbolt store (fsync on), polls the
Reapit API for what webhooks missed, and delivers each lead to the configured sinks
(signed webhook, JSONL file, email, HubSpot, Pipedrive, Salesforce, Rechat) with
retries, per-lead ordering and dead letters.

While the daemon runs, status, tail, dlq, replay, reconcile and erase talk to it over its
admin socket; with it stopped they open the store directly (tail needs the daemon).

Config: --config FILE, else $LEADSYNC_CONFIG, else /etc/leadsync/leadsync.yaml;
with none of those, "serve" runs an embedded demo config on 127.0.0.1:8080.

Quick start:
  leadsync serve                 # demo config, state in ./leadsync-data
  leadsync send-test hemnet      # sign and post a sample Hemnet contact
  tail -1 leadsync-data/leads.jsonl
  leadsync status                # per source, per sink

Documentation: README.md (config reference, operations, install as a service).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(out)
	root.SetErr(errw)
	root.Version = versionString() // --version, as `leadsync version`
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().StringVarP(&g.config, "config", "c", "", "config file (default $LEADSYNC_CONFIG, else /etc/leadsync/leadsync.yaml, else the demo; check needs a file)")
	root.CompletionOptions.HiddenDefaultCmd = true
	root.AddCommand(newServe(g), newCheck(g), newSendTest(g), newStatus(g), newTail(g), newDLQ(g), newExplain(g), newReplay(g), newReconcile(g), newErase(g), newCompact(g), newSubscribe(g), newVersion(g))
	return root
}
