package main

import (
	"errors"
	"fmt"

	"github.com/leadsync/leadsync/sync/config"
)

// loadConfig loads the config the flags and environment point at, or the
// embedded demo when there is none. Every error is printed, one per line.
func loadConfig(g *globals) (*config.Config, error) { return load(g, config.Load) }

// loadLayout is loadConfig without reading the secrets the file refers to
// (see config.LoadLayout): for the commands that need only the state
// directory and the admin socket, which an operator runs from a shell that
// lacks the daemon's credentials.
func loadLayout(g *globals) (*config.Config, error) { return load(g, config.LoadLayout) }

func load(g *globals, loader func(string) (*config.Config, error)) (*config.Config, error) {
	path := config.FindPath(g.config)
	if path == "" {
		return config.Demo(), nil
	}
	cfg, err := loader(path)
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
