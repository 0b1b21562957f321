package reapit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/leadsync/leadsync/providers"
	"github.com/leadsync/leadsync/sync/lead"
)

// Paging of GET /applicants. pageSize is Reapit's maximum; maxPages only
// stops a server that never says it is done.
const (
	pageSize     = 100
	maxPages     = 100000
	maxPageBytes = 32 << 20
)

// applicantsPage is a page of GET /applicants.
type applicantsPage struct {
	Embedded       []json.RawMessage `json:"_embedded"`
	PageNumber     int               `json:"pageNumber"`
	PageSize       int               `json:"pageSize"`
	PageCount      int               `json:"pageCount"`
	TotalPageCount int               `json:"totalPageCount"`
	TotalCount     int               `json:"totalCount"`
}

// Poll pages through the applicants of customer modified at or after since
// (all of them when since is zero), oldest first, and commits each page
// before asking for the next (see providers.Poller). Each applicant gives
// one accepted event with the version key, entity key and version a webhook
// of the same change gives, via "reconcile". A page's MaxModified is zero
// when none of its applicants has a modified time.
//
// Errors: 429, 408, 5xx and network failures wrap providers.ErrUnavailable;
// another 4xx, a page that does not decode or a refused credential is a
// plain error; commit's error is returned as it is. Pages are fetched one at
// a time, within the Source's rate limit.
func (s *Source) Poll(ctx context.Context, customer string, since time.Time, commit func(providers.Page) error) error {
	if customer == "" {
		return errors.New("poll: customer: required")
	}
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("poll %s: %w", customer, err)
		}
		body, page, err := s.fetchPage(ctx, customer, since, n)
		if err != nil {
			return fmt.Errorf("poll %s: page %d: %w", customer, n, err)
		}
		if err := commit(s.pageOf(customer, body, page)); err != nil {
			return err
		}
		if n >= page.TotalPageCount || len(page.Embedded) == 0 {
			return nil
		}
		if n >= maxPages {
			return fmt.Errorf("poll %s: still not done after %d pages", customer, maxPages)
		}
	}
}

// fetchPage gets page n. modifiedFrom is since in whole seconds, rounded
// down, since the parameter is inclusive: a coarser bound repeats an
// applicant at worst, and repeats are duplicates.
func (s *Source) fetchPage(ctx context.Context, customer string, since time.Time, n int) ([]byte, *applicantsPage, error) {
	q := url.Values{
		"sortBy":     {"modified"},
		"pageSize":   {strconv.Itoa(pageSize)},
		"pageNumber": {strconv.Itoa(n)},
	}
	if !since.IsZero() {
		q.Set("modifiedFrom", since.UTC().Truncate(time.Second).Format(time.RFC3339))
	}
	h := http.Header{}
	h.Set(HeaderCustomer, customer)
	resp, err := s.apiGet(ctx, s.apiURL+"/applicants/?"+q.Encode(), h, maxPageBytes)
	if err != nil {
		return nil, nil, err
	}
	if err := statusError("GET /applicants/", resp.status, resp.header); err != nil {
		return nil, nil, err
	}
	var page applicantsPage
	if err := json.Unmarshal(resp.body, &page); err != nil {
		return nil, nil, fmt.Errorf("decode: %w", err)
	}
	return resp.body, &page, nil
}

// pageOf maps one page.
func (s *Source) pageOf(customer string, body []byte, page *applicantsPage) providers.Page {
	p := providers.Page{Raw: body, Events: make([]lead.Event, 0, len(page.Embedded))}
	received := s.now()
	for _, raw := range page.Embedded {
		ev, modified := s.pollEvent(customer, raw, received)
		if modified.After(p.MaxModified) {
			p.MaxModified = modified
		}
		p.Events = append(p.Events, ev)
	}
	return p
}

// pollEvent maps one applicant of a page. Created equal to modified means
// the applicant has not changed since it was created: action created.
func (s *Source) pollEvent(customer string, raw json.RawMessage, received time.Time) (lead.Event, time.Time) {
	var a applicant
	if err := json.Unmarshal(raw, &a); err != nil || a.ID == "" {
		sum := sha256.Sum256(raw)
		key := lead.Key(s.name, customer, "poll", "raw", hex.EncodeToString(sum[:]))
		if err != nil {
			return quarantined(key, fmt.Sprintf("decode applicant: %s", err)), time.Time{}
		}
		return quarantined(key, "applicant has no id"), time.Time{}
	}
	created, _ := parseTime(a.Created)
	modified, _ := parseTime(a.Modified)
	m := meta{customer: customer, eventType: TopicApplicantsModified, via: lead.ViaReconcile,
		action: lead.ActionUpdated, occurred: firstTime(modified, created, received), received: received}
	if !created.IsZero() && created.Equal(modified) {
		m.eventType, m.action = TopicApplicantsCreated, lead.ActionCreated
	}
	l := s.mapApplicant(&a, a.ID, m)
	ev := lead.Event{
		Key:        s.pollKey(customer, a.ID, &a, l, raw),
		VersionKey: s.versionKey(customer, a.ID, &a, l),
		EntityKey:  s.entityKey(customer, a.ID),
		Version:    modified,
		Status:     lead.StatusAccepted,
		Lead:       l,
	}
	ev.Finish()
	return ev, modified
}
