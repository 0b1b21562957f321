package config

import "slices"

// Source returns the source named name, or nil.
func (c *Config) Source(name string) *Source {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i]
		}
	}
	return nil
}

// Sink returns the sink named name, or nil.
func (c *Config) Sink(name string) *Sink {
	for i := range c.Sinks {
		if c.Sinks[i].Name == name {
			return &c.Sinks[i]
		}
	}
	return nil
}

// Matches reports whether a lead from source with action goes to the sink
// this Match belongs to. A nil Match, or an empty list, matches everything.
func (m *Match) Matches(source, action string) bool {
	if m == nil {
		return true
	}
	return (len(m.Sources) == 0 || slices.Contains(m.Sources, source)) &&
		(len(m.Actions) == 0 || slices.Contains(m.Actions, action))
}

// NeedsRestart lists the keys that differ between c and next but that a
// reload cannot apply, because the listener, the database and the admin
// socket are opened once at start. A reload applies the rest and should log
// these.
func (c *Config) NeedsRestart(next *Config) []string {
	var keys []string
	if c.Listen != next.Listen {
		keys = append(keys, "listen")
	}
	if c.StateDir != next.StateDir {
		keys = append(keys, "state_dir")
	}
	if c.AdminSocket != next.AdminSocket {
		keys = append(keys, "admin_socket")
	}
	return keys
}
