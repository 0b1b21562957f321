package main

import "testing"

// TestReplayCountsAddUp: the summary line counts every status, so its
// figures add up to the total (quarantined events were left out).
func TestReplayCountsAddUp(t *testing.T) {
	got := countsLine(map[string]int{"replayed": 2, "quarantined": 1, "skipped": 3})
	if want := "2 replayed, 0 unchanged, 1 quarantined, 3 skipped"; got != want {
		t.Errorf("countsLine = %q, want %q", got, want)
	}
}
