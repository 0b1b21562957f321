package pipedrive

// The person: found by email (or phone), created when missing, and given
// the lead's email or phone when it lacks them. Nothing a person has is
// overwritten: agents may have corrected it, and several leads may share it.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/leadsync/leadsync/sync/lead"
)

// value is an email or phone of a person as API v2 writes and reads it.
type value struct {
	Value   string `json:"value"`
	Primary bool   `json:"primary"`
	Label   string `json:"label"`
}

// Labels given to what leadsync adds.
const (
	emailLabel = "work"
	phoneLabel = "mobile"
)

// found is a person as the search returns it.
type found struct {
	ID     int64    `json:"id"`
	Emails []string `json:"emails"`
	Phones []string `json:"phones"`
}

// person is the lead's person as leadsync sees it. update says the lead is
// a later version of one already sent, whose person may have been found by
// another email or by the phone alone.
type person struct {
	name, email, phone string
	update             bool
}

func personOf(f map[string]string) person {
	return person{name: personName(f), email: strings.TrimSpace(f["person.email"]), phone: strings.TrimSpace(f["person.phone"]),
		update: f["action"] == lead.ActionUpdated}
}

// key is what the person is searched by, for keyedLocks.
func (p person) key() string {
	if p.email != "" {
		return "email:" + strings.ToLower(p.email)
	}
	return "phone:" + digits(p.phone)
}

// personName is the full name, else first and last, else the email or
// phone: Pipedrive requires a name.
func personName(f map[string]string) string {
	if n := strings.TrimSpace(f["person.full_name"]); n != "" {
		return n
	}
	n := strings.TrimSpace(f["person.first_name"] + " " + f["person.last_name"])
	for _, alt := range []string{f["person.email"], f["person.phone"]} {
		if n == "" {
			n = strings.TrimSpace(alt)
		}
	}
	return n
}

// upsertPerson returns the id of the lead's person, created or completed.
func (s *Sink) upsertPerson(ctx context.Context, p person) (int64, error) {
	match, err := s.searchPerson(ctx, p)
	if err != nil {
		return 0, err
	}
	if match == nil {
		return s.createPerson(ctx, p)
	}
	addEmail := p.email != "" && !containsFold(match.Emails, p.email, strings.ToLower)
	addPhone := p.phone != "" && !containsFold(match.Phones, p.phone, digits)
	if addEmail || addPhone {
		if err := s.completePerson(ctx, match.ID, p, addEmail, addPhone); err != nil {
			return 0, err
		}
	}
	return match.ID, nil
}

// searchPerson finds the person with the lead's email, else its phone, by
// exact match; nil when there is none. An update whose email finds no one
// is looked for by its phone too: the email may be new to a person the
// first version made (a changed address, or a phone-only lead that now has
// one), and without it the update would make a second person and a second
// Pipedrive lead. (A first version with an unknown email makes a person of
// its own even when its phone is known: two people may share a phone.)
func (s *Sink) searchPerson(ctx context.Context, p person) (*found, error) {
	if p.email == "" {
		return s.search(ctx, p.phone, "phone")
	}
	m, err := s.search(ctx, p.email, "email")
	if m != nil || err != nil || !p.update || p.phone == "" {
		return m, err
	}
	return s.search(ctx, p.phone, "phone")
}

// search finds a person whose field (email or phone) is term exactly.
func (s *Sink) search(ctx context.Context, term, field string) (*found, error) {
	q := url.Values{"term": {term}, "fields": {field}, "exact_match": {"true"}, "limit": {"1"}}
	var res struct {
		Items []struct {
			Item found `json:"item"`
		} `json:"items"`
	}
	if err := s.call(ctx, "search person", "GET", "/api/v2/persons/search", q, nil, &res); err != nil {
		return nil, err
	}
	if len(res.Items) == 0 {
		return nil, nil
	}
	return &res.Items[0].Item, nil
}

func (s *Sink) createPerson(ctx context.Context, p person) (int64, error) {
	in := map[string]any{"name": p.name}
	if p.email != "" {
		in["emails"] = []value{{Value: p.email, Primary: true, Label: emailLabel}}
	}
	if p.phone != "" {
		in["phones"] = []value{{Value: p.phone, Primary: true, Label: phoneLabel}}
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := s.call(ctx, "create person", "POST", "/api/v2/persons", nil, in, &out); err != nil {
		return 0, err
	}
	if out.ID == 0 {
		return 0, fmt.Errorf("create person: answer without id")
	}
	return out.ID, nil
}

// completePerson adds the lead's email and/or phone to a person's, keeping
// theirs with their labels (a PATCH replaces the whole list).
func (s *Sink) completePerson(ctx context.Context, id int64, p person, addEmail, addPhone bool) error {
	path := "/api/v2/persons/" + strconv.FormatInt(id, 10)
	var cur struct {
		Emails []value `json:"emails"`
		Phones []value `json:"phones"`
	}
	if err := s.call(ctx, "read person", "GET", path, nil, nil, &cur); err != nil {
		return err
	}
	in := map[string]any{}
	if addEmail {
		in["emails"] = append(cur.Emails, value{Value: p.email, Primary: len(cur.Emails) == 0, Label: emailLabel})
	}
	if addPhone {
		in["phones"] = append(cur.Phones, value{Value: p.phone, Primary: len(cur.Phones) == 0, Label: phoneLabel})
	}
	// A 404 here means the person was merged or deleted since the search:
	// a retry searches again, so it must not dead-letter.
	err := s.call(ctx, "update person", "PATCH", path, nil, in, nil)
	if he := httpError(err); he != nil && he.Status == http.StatusNotFound {
		return fmt.Errorf("update person: gone since the search: %w", he)
	}
	return err
}

// containsFold reports whether list holds v, both normalized by norm.
func containsFold(list []string, v string, norm func(string) string) bool {
	v = norm(v)
	for _, x := range list {
		if norm(x) == v {
			return true
		}
	}
	return false
}

// digits keeps the digits of a phone number, so that "070-111 22" and
// "07011122" compare equal.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}
