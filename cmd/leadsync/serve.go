package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/leadsync/leadsync/state"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/config"
	"github.com/leadsync/leadsync/sync/logging"
	"github.com/spf13/cobra"
)

func newServe(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon (the embedded demo config when there is no config file)",
		Long: `Run the daemon: serve POST /webhooks/<source>, /healthz and /readyz on "listen",
commit every accepted event to <state_dir>/leadsync.db before answering 200, and
deliver leads to the sinks.

SIGTERM or SIGINT drains: /readyz and new webhooks answer 503, requests in flight
are answered, deliveries in flight get "drain" (default 10s) to finish, then the
store is closed. Anything not delivered stays queued for the next start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return serve(ctx, g)
		},
	}
}

func newLogger(cfg *config.Config) *slog.Logger {
	tty, journal := logging.Detect(os.Stderr)
	redact := cfg.Log.Redact == nil || *cfg.Log.Redact
	log, _ := logging.New(logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format, Redact: redact,
		Out: os.Stderr, IsTTY: tty, Journal: journal})
	return log
}

func serve(ctx context.Context, g *globals) error {
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	if cfg.Demo {
		log.Warn("NO CONFIG FILE: running the embedded DEMO config with fixed, public dev secrets; "+
			"do not expose it. Write /etc/leadsync/leadsync.yaml or pass --config for real use",
			"listen", cfg.Listen, "state_dir", cfg.StateDir)
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	st, err := state.Open(cfg.StateDir, state.Options{Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close state", "err", err)
		}
	}()
	built, err := lsync.Build(cfg, log)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	defer built.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	eng, err := lsync.New(lsync.Options{
		Store: st, Sources: built.Sources, Sinks: built.Sinks, MaxBody: int64(cfg.MaxBody),
		TrustedProxies: built.TrustedProxies, Logger: log, Drain: cfg.Drain.D(),
		OnReady: func() {
			log.Info("leadsync ready", "listen", ln.Addr().String(), "state", st.Path(),
				"sources", len(built.Sources), "sinks", len(built.Sinks), "version", version)
			daemon.SdNotify(false, daemon.SdNotifyReady+"\nSTATUS=serving on "+ln.Addr().String())
		},
		OnStopping: func() {
			daemon.SdNotify(false, daemon.SdNotifyStopping+"\nSTATUS=draining")
		},
	})
	if err != nil {
		ln.Close()
		return err
	}
	err = eng.Run(ctx, ln)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}
