package state

import (
	"errors"
	"testing"
)

// Only panics that come from the file make "damaged": a bug of ours (a nil
// map, a nil pointer) crashes with its stack instead of telling the operator
// to move a healthy file aside.
func TestFromDamage(t *testing.T) {
	var nilMap map[string]int
	ours := func() (r any) {
		defer func() { r = recover() }()
		nilMap["x"] = 1
		return nil
	}()
	var nilPtr *Store
	ours2 := func() (r any) {
		defer func() { r = recover() }()
		_ = nilPtr.path
		return nil
	}()
	for r, want := range map[any]bool{
		"assertion failed: Page expected to be: 6180, but self identifies as 0": true,
		"invalid freelist page: 42, page type is leaf":                          true,
		errors.New("some error of ours"):                                        false,
		ours:                                                                    false,
		ours2:                                                                   false,
	} {
		if got := fromDamage(r); got != want {
			t.Errorf("fromDamage(%v) = %v, want %v", r, got, want)
		}
	}
}
