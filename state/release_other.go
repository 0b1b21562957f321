//go:build !linux

package state

func (s *Store) releaseMapped() {}
