package main

import (
	"fmt"

	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/config"
	"github.com/spf13/cobra"
)

func newCheck(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Validate the config file and print every error (exit 0 if valid, 1 if not)",
		Long: `Validate the config: keys, types, secrets readable, URLs, sources and sinks
supported by this build. Every error is printed as FILE:LINE: path.to.key: message.
systemd's ExecReload runs this before sending HUP, so a broken config fails the reload.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := config.FindPath(g.config)
			if path == "" {
				return fmt.Errorf("no config file: pass --config FILE or set LEADSYNC_CONFIG (without one, serve runs the demo)")
			}
			cfg, err := config.Load(path)
			if err != nil {
				printConfigErrors(g, err)
				return exitError{code: 1}
			}
			if err := lsync.CheckSupported(cfg); err != nil {
				printConfigErrors(g, err)
				return exitError{code: 1}
			}
			for _, w := range cfg.Warnings() {
				fmt.Fprintf(g.errw, "%s: warning: %s\n", path, w)
			}
			fmt.Fprintf(g.out, "%s: ok (%d sources, %d sinks)\n", path, len(cfg.Sources), len(cfg.Sinks))
			return nil
		},
	}
}
