package main

import (
	"errors"
	"fmt"

	"github.com/leadsync/leadsync/sync/config"
)

// loadConfig loads the config the flags and environment point at, or the
// embedded demo when there is none. Every error is printed, one per line.
func loadConfig(g *globals) (*config.Config, error) {
	path := config.FindPath(g.config)
	if path == "" {
		return config.Demo(), nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		printConfigErrors(g, err)
		return nil, exitError{code: 1}
	}
	return cfg, nil
}

func printConfigErrors(g *globals, err error) {
	var errs *config.Errors
	if errors.As(err, &errs) {
		for _, e := range *errs {
			fmt.Fprintln(g.errw, e.Error())
		}
		return
	}
	fmt.Fprintln(g.errw, err)
}
