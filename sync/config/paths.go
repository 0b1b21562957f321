package config

import (
	"strconv"
	"strings"
)

// Paths name a key the way messages show it: sources[0].keys[1],
// sinks[2].headers.Authorization. The decoder records the line of each one
// present, and validation walks up from a missing key to the nearest
// present ancestor to find a line to point at.

// indexed appends a list index to a path.
func indexed(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// join appends a key to a path.
func join(path, key string) string {
	switch {
	case key == "":
		return path
	case path == "":
		return key
	}
	return path + "." + key
}

// parent returns the path one level up: sources[0].keys → sources[0] →
// sources → "".
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}
