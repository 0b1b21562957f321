package lead

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// leadFrom builds a lead with every field set or not, from fuzz input.
func leadFrom(a, b string, n int, f float64, mask uint64) *Lead {
	bit := func(i int) bool { return mask&(1<<i) != 0 }
	ps := func(i int) *string {
		switch {
		case !bit(i):
			return nil
		case bit(i + 32):
			return &a
		default:
			return &b
		}
	}
	strs := func(i int) []string {
		switch {
		case !bit(i):
			return nil
		case bit(i + 32):
			return []string{}
		default:
			return []string{a, b}
		}
	}
	yes := bit(40)
	l := &Lead{Schema: a, ID: b, EventID: a, Action: b, Test: bit(0),
		Source:     Source{Name: a, Provider: b, Entity: a, EntityID: b, CustomerID: ps(1), EventType: a, Via: b, RequestID: ps(2)},
		Person:     Person{FirstName: ps(3), LastName: ps(4), FullName: ps(5), Email: ps(6), Phone: ps(7), PreferredContact: ps(8)},
		Interest:   Interest{Intent: a, Reason: ps(9), Message: ps(10), Currency: ps(11), Areas: strs(12), Form: ps(13)},
		Assignment: Assignment{OfficeIDs: strs(14), NegotiatorIDs: strs(15), RecipientType: ps(16)},
	}
	if bit(17) {
		l.OccurredAt = Time{time.Unix(int64(n), int64(n)%1e9).In(time.FixedZone("x", 3600))}
	}
	if bit(18) {
		l.ReceivedAt = Time{time.UnixMilli(int64(n))}
	}
	if bit(19) {
		l.Person.Address = &Address{Street: ps(20), PostalCode: ps(21), City: ps(22), Country: ps(23)}
	}
	if bit(24) {
		l.Person.MarketingConsent = &yes
	}
	if bit(25) {
		l.Interest.Listing = &Listing{ID: ps(26), ExternalID: ps(27)}
	}
	if bit(28) {
		l.Interest.PriceMin, l.Interest.PriceMax = &f, &f
	}
	if bit(29) {
		l.Interest.BedroomsMin, l.Interest.PreapprovedMortgage = &n, &yes
	}
	if bit(30) {
		l.Assignment.Agent = &Agent{ID: ps(20), Name: ps(21), Email: ps(22)}
	}
	if bit(31) {
		l.Assignment.Agency = &Agency{ID: ps(23), ExternalID: ps(26)}
	}
	return l
}

func checkMarshal(t *testing.T, l *Lead) {
	t.Helper()
	got, err := l.Marshal() // normalizes l first
	want, werr := json.Marshal(l)
	if (err != nil) != (werr != nil) {
		t.Fatalf("Marshal error %v, json.Marshal error %v", err, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("\n hand %s\n json %s", got, want)
	}
}

func TestMarshalMatchesJSON(t *testing.T) {
	for _, mask := range []uint64{0, math.MaxUint64, 0x5555555555555555, 0xaaaaaaaaaaaaaaaa, 1<<32 - 1} {
		checkMarshal(t, leadFrom(`q"<&>\`, "åäö\u2028\xff", 1713004756, 1234567.5, mask))
		checkMarshal(t, leadFrom("", "x", -1, 1e-7, mask))
	}
	checkMarshal(t, leadFrom("a", "b", 0, math.Inf(1), math.MaxUint64)) // both fail
}

func FuzzMarshalMatchesJSON(f *testing.F) {
	f.Add("a", "b", 1713004756, 3.5e6, uint64(math.MaxUint64))
	f.Add(`"\`, "\x00\xff", -5, 1e21, uint64(0x0f0f0f0f0f0f0f0f))
	f.Fuzz(func(t *testing.T, a, b string, n int, x float64, mask uint64) {
		checkMarshal(t, leadFrom(a, b, n, x, mask))
	})
}
