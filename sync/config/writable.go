//go:build unix

package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// unwritable says why this process could not append to the file at path
// (creating it and its directories as a file sink does), or "" if it
// could: without creating anything, so that `leadsync check` can ask. A
// path that is no file at all (a directory, a device) is Build's error,
// not this warning's.
func unwritable(path string) string {
	const wOK, xOK = 2, 1 // access(2) modes
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return ""
	case err == nil:
		if syscall.Access(path, wOK) != nil {
			return path + " is not writable"
		}
		return ""
	case !errors.Is(err, fs.ErrNotExist):
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return path + ": " + pe.Err.Error()
		}
		return err.Error()
	}
	// The nearest directory that exists must let the rest be created.
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		di, err := os.Stat(dir)
		if err == nil {
			if di.IsDir() && syscall.Access(dir, wOK|xOK) != nil {
				return "cannot create it: " + dir + " is not writable"
			}
			return ""
		}
		if parent := filepath.Dir(dir); parent == dir {
			return ""
		}
	}
}
