package webhook

import "time"

// SetClock replaces the clock a sink reads webhook-timestamp from, so tests
// can tell attempts within one second apart.
func SetClock(s *Sink, now func() time.Time) { s.now = now }
