package main

import (
	"errors"
	"fmt"

	"github.com/leadsync/leadsync/state"
	lsync "github.com/leadsync/leadsync/sync"
	"github.com/leadsync/leadsync/sync/config"
)

// adminFor returns the Admin of the configured daemon: its admin socket when
// a daemon answers there, else the store opened directly (read-only unless
// write). close releases what it opened.
func adminFor(g *globals, write bool) (a lsync.Admin, cfg *config.Config, close func(), err error) {
	cfg, err = loadConfig(g)
	if err != nil {
		return nil, nil, nil, err
	}
	if c, ok := lsync.Dial(cfg.AdminSocket); ok {
		return c, cfg, func() {}, nil
	}
	st, err := state.Open(cfg.StateDir, state.Options{ReadOnly: !write})
	if errors.Is(err, state.ErrLocked) {
		return nil, nil, nil, fmt.Errorf("the daemon holds %s but its admin socket %s does not answer: is admin_socket the same in its config?",
			cfg.StateDir, cfg.AdminSocket)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return &lsync.Local{Store: st}, cfg, func() { st.Close() }, nil
}
