package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Erase removes a person's data (GDPR art. 17), matched by email or phone
// (either may be empty, not both):
//
//   - leads whose person.email equals email (trimmed, case-insensitive) or
//     whose person.phone is the same number as phone (digits only, so
//     "070-111 222 333" is "070111222333"; a national number also matches
//     its international form, "+46 70 111 222 333");
//   - raw requests whose body holds the email (case-insensitive, also
//     JSON-escaped) or the phone (in any of those spellings), and the raw
//     requests the erased leads' events came from: the whole request goes,
//     with whatever else it carried, and cannot be replayed;
//   - the events records of the erased leads and of the erased requests;
//   - outbox entries (with their pending index) and dead letters of the
//     erased leads, and those that hold a lead of the person themselves
//     (their event pruned by the retention), in every sink.
//
// Dedupe and versions records stay: they hold no personal data, and they
// make a provider's retry of an erased event a duplicate instead of
// re-creating the lead. Stats and cursors hold none either.
//
// The work is done in small writer transactions so intake goes on; data the
// person sends while Erase runs may survive it (run it again). Last, because
// bbolt keeps freed pages with their bytes in the file, Erase rewrites the
// database (see Rewrite), which pauses the store for as long as copying the
// live data takes. It returns how many records went, by bucket ("leads",
// "events", "raw", "outbox", "dead"); the counts are valid with an error too.
func (s *Store) Erase(email, phone string) (map[string]int, error) {
	p, err := newPerson(email, phone)
	if err != nil {
		return nil, err
	}
	counts := map[string]int{"leads": 0, "events": 0, "raw": 0, "outbox": 0, "dead": 0}
	// The sets below are read by match on the writer goroutine and filled by
	// deleted on this one, between steps (s.update orders the two).
	// The leads are found in the events that produced them (a read-only
	// pass); those events go in the events sweep below, counted there.
	leads := map[string]bool{}
	err = s.scan(bEvents, 0, func(_, v []byte) bool {
		var er eventRecord
		if json.Unmarshal(v, &er) == nil && er.LeadID != "" && er.Lead != nil && p.lead(er.Lead) {
			leads[er.LeadID] = true
		}
		return true
	})
	counts["leads"] = len(leads)
	if err != nil {
		return counts, err
	}
	// The queues first: their entries name the events erased below. They
	// are looked at whatever the events held: an entry or dead letter that
	// outlived its event (retention) holds its lead itself.
	qn, err := s.eraseQueues(leads, p)
	addCounts(counts, qn)
	if err != nil {
		return counts, err
	}

	raws := map[string]bool{}
	n, _, err := s.run(sweep{bucket: bRaw,
		match: func(_ *bolt.Tx, _, v []byte, _ map[string]int) (bool, error) {
			var r RawRequest
			if decodeRaw(v, &r) != nil {
				return p.text(v), nil // unreadable: look at the record as it is
			}
			return p.raw(&r), nil
		},
		deleted: func(k, _ []byte) { raws[string(k)] = true }})
	counts["raw"] += n
	if err != nil {
		return counts, err
	}

	// The events of the erased requests go below, with the leads of the
	// other people such a request carried (Rechat sends up to 50 contacts):
	// their pending deliveries name those events, so they get the lead
	// copied in first, as Prune does.
	if len(raws) > 0 {
		goes, err := s.eventsOfRaws(raws)
		if err != nil {
			return counts, err
		}
		if err := s.materializeRefs(0, func(ref []byte) bool { return goes[string(ref)] }); err != nil {
			return counts, err
		}
	}

	var moreRaw [][]byte // requests of erased leads that did not name the person
	n, _, err = s.run(sweep{bucket: bEvents,
		match: func(_ *bolt.Tx, _, v []byte, _ map[string]int) (bool, error) {
			var er eventRecord
			if json.Unmarshal(v, &er) != nil {
				return false, nil
			}
			return (er.LeadID != "" && leads[er.LeadID]) || raws[string(er.Raw)], nil
		},
		deleted: func(_, v []byte) {
			var er eventRecord
			if json.Unmarshal(v, &er) == nil && len(er.Raw) > 0 && !raws[string(er.Raw)] {
				raws[string(er.Raw)] = true
				moreRaw = append(moreRaw, er.Raw)
			}
		}})
	counts["events"] += n
	if err != nil {
		return counts, err
	}
	n, err = s.deleteKeys(bRaw, moreRaw)
	counts["raw"] += n
	if err != nil {
		return counts, err
	}

	if err := s.Rewrite(); err != nil {
		return counts, fmt.Errorf("erase: the data is deleted but the file still holds its bytes: %w", err)
	}
	return counts, nil
}

// eventsOfRaws returns the keys of the events committed from the raw
// requests whose keys are in raws: they share a request's received time, so
// each is a seek and a short walk (see eventsOfRaw).
func (s *Store) eventsOfRaws(raws map[string]bool) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		for rk := range raws {
			if len(rk) < 8 {
				continue
			}
			prefix := []byte(rk[:8])
			for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
				var er eventRecord
				if json.Unmarshal(v, &er) == nil && string(er.Raw) == rk {
					out[string(k)] = true
				}
			}
		}
		return nil
	})
	return out, err
}

// eraseQueues deletes, in every sink, the outbox entries and dead letters
// of leads, and those that hold a lead of p themselves (their event pruned).
func (s *Store) eraseQueues(leads map[string]bool, p *person) (map[string]int, error) {
	counts := map[string]int{}
	ofPerson := func(v []byte) (leadID string, match bool) {
		var e struct {
			LeadID string          `json:"lead_id"`
			Lead   json.RawMessage `json:"lead"`
		}
		if json.Unmarshal(v, &e) != nil {
			return "", false
		}
		return e.LeadID, leads[e.LeadID] || (len(e.Lead) > 0 && p.lead(e.Lead))
	}
	queues := func(prefix string, bucket func(string) []byte, count string, erased map[string]bool) error {
		sinks, err := s.bucketsWithPrefix(prefix)
		if err != nil {
			return err
		}
		for _, sink := range sinks {
			n, _, err := s.run(sweep{bucket: bucket(sink),
				match: func(_ *bolt.Tx, _, v []byte, _ map[string]int) (bool, error) {
					_, m := ofPerson(v)
					return m, nil
				},
				deleted: func(_, v []byte) {
					if id, _ := ofPerson(v); erased != nil && id != "" {
						erased[id] = true
					}
				}})
			counts[count] += n
			if err != nil {
				return err
			}
			if erased == nil {
				continue
			}
			// The pending index is keyed by lead id: drop the erased ones
			// (their entries are gone) in one step per batch.
			ids := make([][]byte, 0, len(erased))
			for id := range erased {
				ids = append(ids, []byte(id))
			}
			if _, err := s.deleteKeys(pendingBucket(sink), ids); err != nil {
				return err
			}
		}
		return nil
	}
	erased := maps.Clone(leads)
	if err := queues("outbox/", outboxBucket, "outbox", erased); err != nil {
		return counts, err
	}
	return counts, queues("dead/", deadBucket, "dead", nil)
}

// deleteKeys deletes keys from bucket in writer steps of defaultBatch keys,
// and returns how many existed.
func (s *Store) deleteKeys(bucket []byte, keys [][]byte) (int, error) {
	total := 0
	for chunk := range slices.Chunk(keys, defaultBatch) {
		var n int
		err := s.update(func(tx *bolt.Tx) error {
			n = 0
			b := tx.Bucket(bucket)
			if b == nil {
				return nil
			}
			for _, k := range chunk {
				if b.Get(k) == nil {
					continue
				}
				if err := b.Delete(k); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// person is who Erase looks for.
type person struct {
	email string   // trimmed, lower case; "" when erasing by phone only
	phone phoneNum // d == "" when by email only
}

// phoneNum is a phone number as digits without leading zeros, and whether it
// was written in international form (+46…, 0046…), i.e. starts with a
// country code rather than with the national number.
type phoneNum struct {
	d    string
	intl bool
}

func parsePhone(s string) phoneNum {
	s = strings.TrimSpace(s)
	d := digits(s)
	return phoneNum{d: strings.TrimLeft(d, "0"), intl: strings.HasPrefix(s, "+") || strings.HasPrefix(d, "00")}
}

// minPhoneDigits guards against an erase by "112" taking half the store:
// below it a number names no one in particular.
const minPhoneDigits = 7

func newPerson(email, phone string) (*person, error) {
	p := &person{email: strings.ToLower(strings.TrimSpace(email)), phone: parsePhone(phone)}
	switch {
	case p.email == "" && strings.TrimSpace(phone) == "":
		return nil, errors.New("erase: an email or a phone is needed")
	case p.email != "" && !strings.Contains(p.email, "@"):
		return nil, fmt.Errorf("erase: %q is not an email address", email)
	case strings.TrimSpace(phone) != "" && len(p.phone.d) < minPhoneDigits:
		return nil, fmt.Errorf("erase: %q has too few digits to name one person", phone)
	}
	return p, nil
}

// lead reports whether the lead JSON v is about p.
func (p *person) lead(v []byte) bool {
	var l struct {
		Person struct {
			Email *string `json:"email"`
			Phone *string `json:"phone"`
		} `json:"person"`
	}
	if json.Unmarshal(v, &l) != nil {
		return false
	}
	if p.email != "" && l.Person.Email != nil && strings.ToLower(strings.TrimSpace(*l.Person.Email)) == p.email {
		return true
	}
	return p.phone.d != "" && l.Person.Phone != nil && samePhone(parsePhone(*l.Person.Phone), p.phone)
}

// raw reports whether a stored request names p, in its body or headers.
func (p *person) raw(r *RawRequest) bool {
	if p.text(r.Body) {
		return true
	}
	for _, v := range r.Header {
		if p.text([]byte(v)) {
			return true
		}
	}
	return false
}

// text looks for p in b as sent: literally, and with JSON string escapes
// (Hemnet's \u0026, PHP's \/, \u-escaped non-ASCII) decoded.
func (p *person) text(b []byte) bool {
	if p.match(b) {
		return true
	}
	return bytes.IndexByte(b, '\\') >= 0 && p.match(jsonUnescape(b))
}

func (p *person) match(b []byte) bool {
	if p.email != "" && hasEmail(bytes.ToLower(b), p.email) {
		return true
	}
	return p.phone.d != "" && hasPhone(b, p.phone)
}

// hasEmail reports whether b holds email as a whole address, not as part
// of a longer one (xjohn@example.com, john@example.com.evil).
func hasEmail(b []byte, email string) bool {
	for off := 0; ; {
		i := bytes.Index(b[off:], []byte(email))
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(email)
		before := start == 0 || !isLocalChar(b[start-1])
		after := end == len(b) || !(isDomainChar(b[end]) || b[end] == '.' && end+1 < len(b) && isDomainChar(b[end+1]))
		if before && after {
			return true
		}
		off = start + 1
	}
}

func isDomainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c >= 0x80
}

func isLocalChar(c byte) bool {
	return isDomainChar(c) || strings.IndexByte(".!#$%&'*+/=?^_`{|}~", c) >= 0
}

// hasPhone reports whether b holds the number phone as a run of digits,
// possibly broken by single separators such as spaces, dashes, dots,
// slashes or parentheses, and possibly after a "+".
func hasPhone(b []byte, phone phoneNum) bool {
	var run []byte
	plus, gap := false, 0
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if len(run) == 0 {
				plus = i > 0 && b[i-1] == '+'
			}
			run = append(run, c)
			gap = 0
		case len(run) > 0 && gap < 2 && strings.IndexByte(" -./()", c) >= 0:
			gap++
		default:
			if len(run) > 0 && samePhone(runPhone(run, plus), phone) {
				return true
			}
			run, gap = run[:0], 0
		}
	}
	return len(run) > 0 && samePhone(runPhone(run, plus), phone)
}

func runPhone(run []byte, plus bool) phoneNum {
	return phoneNum{d: strings.TrimLeft(string(run), "0"), intl: plus || bytes.HasPrefix(run, []byte("00"))}
}

// samePhone compares two numbers: the same digits, or, when one is written
// in international form and the other is not, the international one is the
// other with a country code (1 to 3 digits) in front, so 070-111 222 333 and
// +46 70 111 222 333 are one number, and so are (555) 123-4567 and
// +1 555 123 4567.
func samePhone(a, b phoneNum) bool {
	if len(a.d) < minPhoneDigits || len(b.d) < minPhoneDigits {
		return false
	}
	if a.d == b.d {
		return true
	}
	if a.intl == b.intl {
		return false
	}
	if b.intl {
		a, b = b, a
	}
	cc := len(a.d) - len(b.d)
	return cc >= 1 && cc <= 3 && strings.HasSuffix(a.d, b.d)
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// jsonUnescape decodes the escapes of JSON strings wherever they occur in b
// (it does not parse JSON; bytes that are not escapes are copied).
func jsonUnescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			continue
		}
		switch c := b[i+1]; c {
		case '"', '\\', '/':
			out = append(out, c)
			i++
		case 'n', 't', 'r', 'b', 'f':
			out = append(out, ' ')
			i++
		case 'u':
			r, ok := hex4(b[i+2:])
			if !ok {
				out = append(out, b[i])
				continue
			}
			i += 5
			if utf16.IsSurrogate(r) {
				if len(b) > i+6 && b[i+1] == '\\' && b[i+2] == 'u' {
					if r2, ok := hex4(b[i+3:]); ok {
						r = utf16.DecodeRune(r, r2)
						i += 6
					}
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			out = append(out, b[i])
		}
	}
	return out
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// PersonMatcher returns what Erase matches a lead JSON with, so that places
// outside the store that keep leads (a JSONL file sink) erase the same
// person by the same rules.
func PersonMatcher(email, phone string) (func(leadJSON []byte) bool, error) {
	p, err := newPerson(email, phone)
	if err != nil {
		return nil, err
	}
	return p.lead, nil
}
