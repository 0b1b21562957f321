package hemnet

import (
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers"
)

// BenchmarkParse is the mapping cost of one CONTACT/CREATE, the body every
// Hemnet lead arrives as.
func BenchmarkParse(b *testing.B) {
	s, err := New(Config{Name: "hemnet", Keys: [][]byte{[]byte("k")}})
	if err != nil {
		b.Fatal(err)
	}
	r := &providers.Request{Source: "hemnet", Body: Sample("bench-1"), ReceivedAt: time.Now()}
	b.ReportAllocs()
	b.SetBytes(int64(len(r.Body)))
	for b.Loop() {
		if _, err := s.Parse(r); err != nil {
			b.Fatal(err)
		}
	}
}
