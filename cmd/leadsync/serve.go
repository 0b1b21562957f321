package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/leadsync/leadsync/state"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/config"
	"github.com/leadsync/leadsync/sync/logging"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

func newServe(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon (the embedded demo config when there is no config file)",
		Long: `Run the daemon: serve POST /webhooks/<source>, /healthz, /readyz and /metrics on
"listen", commit every accepted event to <state_dir>/leadsync.db before answering 200,
deliver leads to the sinks, and answer operator commands on the admin socket.

Signals:
  SIGHUP   reload the config: build every new source and sink, swap them in, close the
           old ones. A config with errors changes nothing (each error is logged).
           listen, state_dir and admin_socket need a restart: a reload applies the
           rest and logs that they keep their running values until then.
  SIGTERM  drain and stop: /readyz and new webhooks answer 503, requests in flight are
  SIGINT   answered, deliveries in flight get "drain" (default 10s) to finish, then the
           listener and the store are closed. Anything not delivered stays queued for
           the next start.

Under systemd (Type=notify) it reports READY=1, RELOADING=1, STOPPING=1, STATUS= and
WATCHDOG=1 when WatchdogSec is set.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			return serve(ctx, g)
		},
	}
}

func newLogger(cfg *config.Config) (*slog.Logger, *slog.LevelVar) {
	tty, journal := logging.Detect(os.Stderr)
	return logging.New(logging.Options{Level: cfg.Log.Level, Format: cfg.Log.Format, Redact: *cfg.Log.Redact,
		Out: os.Stderr, IsTTY: tty, Journal: journal})
}

func notify(state string) { daemon.SdNotify(false, state) }

func serve(ctx context.Context, g *globals) error {
	// LEADSYNC_CPUPROFILE=FILE profiles the whole run (for the benchmark).
	if path := os.Getenv("LEADSYNC_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg, err := loadConfig(g)
	if err != nil {
		return err
	}
	tuneGC()
	tuneProcs()
	log, level := newLogger(cfg)
	if cfg.Demo {
		log.Warn("NO CONFIG FILE: running the embedded DEMO config with fixed, public dev secrets; "+
			"do not expose it. Write /etc/leadsync/leadsync.yaml or pass --config for real use",
			"listen", cfg.Listen, "state_dir", cfg.StateDir)
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	metrics := lsync.NewMetrics()
	start := time.Now()
	st, err := state.Open(cfg.StateDir, state.Options{Logger: log, OnCommit: metrics.ObserveCommit})
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close state", "err", err)
		}
	}()
	built, err := lsync.Build(cfg, log, st)
	if err != nil {
		printConfigErrors(g, err) // as check prints them: every problem, each at its line
		return exitError{code: 1}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		built.Close()
		return fmt.Errorf("listen: %w", err)
	}
	eng, err := lsync.New(lsync.Options{
		Store: st, Sources: built.Sources, Sinks: built.Sinks, MaxBody: int64(cfg.MaxBody),
		TrustedProxies: built.TrustedProxies, Logger: log, Metrics: metrics, Drain: cfg.Drain.D(), Version: version,
		Retention: cfg.Retention.D(),
		OnReady: func() {
			log.Info("leadsync ready", "listen", ln.Addr().String(), "state", st.Path(), "admin_socket", cfg.AdminSocket,
				"sources", len(built.Sources), "sinks", len(built.Sinks), "version", version,
				"startup", time.Since(start).Round(time.Millisecond).String())
			notify(daemon.SdNotifyReady + "\nSTATUS=serving on " + ln.Addr().String())
		},
		OnStopping: func() { notify(daemon.SdNotifyStopping + "\nSTATUS=draining") },
	})
	if err != nil {
		ln.Close()
		built.Close()
		return err
	}
	actx, stopAdmin := context.WithCancel(context.Background())
	defer stopAdmin()
	go func() {
		if err := lsync.ServeAdmin(actx, cfg.AdminSocket, &lsync.Local{Store: st, Engine: eng}); err != nil {
			log.Error("admin socket unavailable; status/dlq commands will not reach the daemon", "err", err)
		}
	}()
	go watchdog(ctx)
	// SIGHUP is caught from before READY=1 until serve returns: with Go's
	// default action a reload right after start, or during the drain, would
	// kill the daemon.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go reloadOnHUP(ctx, hup, cfg, eng, log, level)

	err = eng.Run(ctx, ln)
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

// reloadOnHUP reloads the config on every signal from hup until ctx is
// done; later ones (during the drain) are ignored.
func reloadOnHUP(ctx context.Context, hup <-chan os.Signal, cur *config.Config, eng *lsync.Engine, log *slog.Logger, level *slog.LevelVar) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		notify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d\nSTATUS=reloading", monotonicUsec()))
		if next, ok := reload(cur, eng, log, level); ok {
			cur = next
		}
		notify(daemon.SdNotifyReady + "\nSTATUS=serving on " + cur.Listen)
	}
}

// reload loads, builds and swaps in the config at cur.Path; on any error it
// logs every problem and changes nothing.
func reload(cur *config.Config, eng *lsync.Engine, log *slog.Logger, level *slog.LevelVar) (*config.Config, bool) {
	if cur.Demo {
		log.Warn("reload: running the demo config; there is no file to reload")
		return nil, false
	}
	start := time.Now()
	next, err := config.Load(cur.Path)
	if err != nil {
		refused(log, eng, err)
		return nil, false
	}
	if keys := cur.NeedsRestart(next); len(keys) > 0 {
		// The listener, the database and the admin socket are opened once:
		// these keep their running values (and the next reload says so
		// again) while the rest of the file is applied.
		log.Warn("reload: these keys need a restart to take effect (systemctl restart leadsync); until then they keep their running values",
			"keys", strings.Join(keys, ", "))
		next.Listen, next.StateDir, next.AdminSocket = cur.Listen, cur.StateDir, cur.AdminSocket
	}
	built, err := lsync.Build(next, log, eng.Store())
	if err == nil {
		err = eng.Reload(built, int64(next.MaxBody))
		if err != nil {
			built.Close()
		}
	}
	if err != nil {
		refused(log, eng, err)
		return nil, false
	}
	if lv, err := logging.ParseLevel(next.Log.Level); err == nil {
		level.Set(lv)
	}
	eng.SetRetention(next.Retention.D())
	for _, w := range next.Warnings() {
		log.Warn(w)
	}
	log.Info("config reloaded", "sources", len(built.Sources), "sinks", len(built.Sinks),
		"took", time.Since(start).Round(time.Millisecond).String())
	return next, true
}

// refused logs why a reload changed nothing: each problem of the config on
// a line of its own, with its FILE:LINE.
func refused(log *slog.Logger, eng *lsync.Engine, err error) {
	if errs, ok := errors.AsType[*config.Errors](err); ok {
		for _, e := range *errs {
			log.Error("reload refused: config error; the running config stays", "error", e.Error())
		}
	} else {
		log.Error("reload refused; the running config stays", "err", err)
	}
	eng.NoteReloadFailure()
}

// watchdog pings systemd's watchdog at half its interval, when enabled.
func watchdog(ctx context.Context) {
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil || every <= 0 {
		return
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			notify(daemon.SdNotifyWatchdog)
		}
	}
}

// monotonicUsec is CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Sec*1_000_000 + ts.Nsec/1000
}

// tuneProcs gives the scheduler twice as many Ps as it would use. The one
// writer every webhook waits for spends most of each commit blocked in
// fdatasync; when the sync returns it needs a P to go on, and with one P per
// core both are busy with request handlers, so it queues behind them (one
// more commit's worth of latency). With spare Ps it resumes at once, and the
// kernel shares the cores. The writer's own OS thread (state/writer.go)
// does not make this redundant: measured with it, 4 Ps on 2 cores against
// 2 gave 34–38% of the bare handler against 30–31% at 64 connections.
// On a one-core host (or a CPU quota of one) this makes 2 Ps, so the writer
// keeps its own thread there too; measured with everything pinned to one
// core (taskset -c 0), three alternating pairs, against GOMAXPROCS=1:
// 15–18% vs 12–13% of the bare handler at 16 connections, 27–33% vs 20–23%
// at 64, 33–42% vs 30–36% at 256. GOMAXPROCS in the environment wins.
func tuneProcs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	}
}

// tuneGC trades a little memory for throughput: the live heap is small
// (tens of MiB) and every request allocates, so the default GOGC=100
// collects far more often than memory needs (measured: +15–20% intake with
// 400). A soft limit of 128 MiB keeps the heap bounded all the same (the
// dedupe index of a million stored events is ~40 MiB of it): near the
// limit the collector runs as often as it must. GOGC and GOMEMLIMIT in the
// environment win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(128 << 20)
	}
}
