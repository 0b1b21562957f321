package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/leadsync/leadsync/state"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/config"
)

// access says what an operator command needs when the daemon is stopped.
type access int

const (
	readOnly  access = iota // read the store (status, dlq list)
	readWrite               // change the store (dlq retry/drop)
	engine                  // also the sources and sinks, built from the config (reconcile, replay, erase: its file sinks)
)

// adminFor returns the Admin of the configured daemon: its admin socket when
// a daemon answers there, else the store opened directly. close releases
// what it opened.
func adminFor(g *globals, need access) (a lsync.Admin, cfg *config.Config, close func(), err error) {
	// The running daemon has read the secrets; this shell may not be able
	// to (systemd credentials, the unit's environment), and needs them only
	// to build sources and sinks for an offline engine.
	cfg, err = loadLayout(g)
	if err != nil {
		return nil, nil, nil, err
	}
	if c, ok := lsync.Dial(cfg.AdminSocket); ok {
		return c, cfg, func() {}, nil
	}
	st, err := state.Open(cfg.StateDir, state.Options{ReadOnly: need == readOnly})
	if errors.Is(err, state.ErrLocked) {
		return nil, nil, nil, fmt.Errorf("the daemon holds %s but its admin socket %s does not answer: is admin_socket the same in its config (a changed admin_socket takes effect at the daemon's restart)?",
			cfg.StateDir, cfg.AdminSocket)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if need == engine {
		if cfg, err = loadConfig(g); err != nil {
			st.Close()
			return nil, nil, nil, err
		}
	}
	local := &lsync.Local{Store: st}
	closeAll := func() { st.Close() }
	if need == engine {
		log, _ := newLogger(cfg)
		log = log.With("mode", "offline")
		eng, built, err := offlineEngine(cfg, st, log)
		if err != nil {
			st.Close()
			return nil, nil, nil, err
		}
		local.Engine = eng
		closeAll = func() { built.Close(); st.Close() }
	}
	return local, cfg, closeAll, nil
}

// offlineEngine builds the sources and sinks of cfg into an engine that is
// never run: it commits to the store, and the daemon delivers at its next
// start.
func offlineEngine(cfg *config.Config, st *state.Store, log *slog.Logger) (*lsync.Engine, *lsync.Built, error) {
	built, err := lsync.Build(cfg, log, st)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	eng, err := lsync.New(lsync.Options{Store: st, Sources: built.Sources, Sinks: built.Sinks,
		MaxBody: int64(cfg.MaxBody), TrustedProxies: built.TrustedProxies, Logger: log, Version: version})
	if err != nil {
		built.Close()
		return nil, nil, err
	}
	return eng, built, nil
}
