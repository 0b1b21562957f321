package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	lsync "github.com/leadsync/leadsync/sync"
	"github.com/spf13/cobra"
)

func newExplain(g *globals) *cobra.Command {
	var source string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain FILE [--source S]",
		Short: "Dry run: show the lead a payload maps to, which sinks it goes to and what each would send",
		Long: `A dry run of the config on a file (- for standard input). With --source, FILE is a
webhook payload of that source (as the provider sends it; the signature is not
checked): it is mapped into events and leads as the daemon would. Without --source,
FILE is a lead JSON. For every lead, each sink says whether its match takes it and
what it would send. Nothing is stored, sent, or created.`,
		Example: `  leadsync explain --source hemnet payload.json
  leadsync explain lead.json
  curl -s … | leadsync explain --source website -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(g)
			if err != nil {
				return err
			}
			var body []byte
			if args[0] == "-" {
				body, err = io.ReadAll(io.LimitReader(os.Stdin, 16<<20))
			} else {
				body, err = os.ReadFile(args[0])
			}
			if err != nil {
				return err
			}
			res, err := lsync.Explain(cfg, source, body)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				return enc.Encode(res)
			}
			for i, x := range res {
				fmt.Fprintf(g.out, "event %d: %s", i+1, x.Status)
				if x.Reason != "" {
					fmt.Fprintf(g.out, " (%s)", x.Reason)
				}
				fmt.Fprintln(g.out)
				if x.Lead == nil {
					continue
				}
				var pretty bytes.Buffer
				json.Indent(&pretty, x.Lead, "  ", "  ")
				fmt.Fprintf(g.out, "  lead: %s\n", pretty.Bytes())
				for _, r := range x.Routes {
					if !r.Matches {
						fmt.Fprintf(g.out, "  sink %s (%s): not matched\n", r.Sink, r.Type)
						continue
					}
					fmt.Fprintf(g.out, "  sink %s (%s): would send\n    %s\n", r.Sink, r.Type, truncate(r.Preview, 2000))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "map FILE as a webhook payload of this source")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
