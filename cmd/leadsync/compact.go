package main

import (
	"errors"
	"fmt"

	"github.com/leadsync/leadsync/state"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/spf13/cobra"
)

func newCompact(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "compact",
		Short: "With the daemon stopped, rewrite the bbolt file to reclaim space",
		Long: `bbolt never shrinks its file: pages freed by retention stay allocated. compact
rewrites <state_dir>/leadsync.db with only the live data (written beside it, fsync'd,
then renamed over it, with the old file's owner and mode). Stop the daemon first;
run it as the daemon's user (sudo -u leadsync leadsync compact) or root.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadLayout(g)
			if err != nil {
				return err
			}
			if _, ok := lsync.Dial(cfg.AdminSocket); ok {
				return errors.New("the daemon is running: stop it first (systemctl stop leadsync)")
			}
			before, after, err := state.Compact(cfg.StateDir)
			if errors.Is(err, state.ErrLocked) {
				return errors.New("the database is in use by another process: stop the daemon first")
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%s: %s → %s\n", cfg.StateDir, size(before), size(after))
			return nil
		},
	}
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	default:
		return fmt.Sprintf("%d KiB", n>>10)
	}
}
