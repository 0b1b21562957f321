package main_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers/generic"
	"github.com/leadsync/leadsync/providers/hemnet"
	"github.com/leadsync/leadsync/providers/reapit"
	"github.com/leadsync/leadsync/providers/rechat"
	"github.com/leadsync/leadsync/sync/lead/leadtest"
)

const (
	provHemnetKey     = "e2e-providers-hemnet-key"
	provReapitClient  = "e2e-providers-reapit-client"
	provGenericSecret = "e2e-providers-site-secret"
)

// websiteSource is the generic source of the providers test, built in the
// test as its sender would configure it, signing with secret.
func websiteSource(t *testing.T, secret string) *generic.Source {
	t.Helper()
	s, err := generic.New(generic.Config{
		Name: "website", Header: "X-Webhook-Signature", TimestampHeader: "X-Webhook-Timestamp",
		TimestampUnit: generic.UnitSeconds, Signed: generic.SignedTimestampBody, Encoding: generic.EncodingHex,
		Secrets: [][]byte{[]byte(secret)}, EventID: "/id",
		Fields: map[string]string{"email": "/data/user/email", "first_name": "/data/user/firstName", "message": "/data/message"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomHexKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func do(t *testing.T, req *http.Request, err error) (int, string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestProvidersEndToEnd: one daemon with a source per provider (hemnet,
// reapit with the legacy signature, rechat, a generic signed webhook) and a
// file sink taking real and test leads. `leadsync send-test` of each makes
// exactly one lead with the right provider, valid against the lead schema;
// a request signed with the wrong key is 401 for each, while the same
// request signed with the right key is accepted.
func TestProvidersEndToEnd(t *testing.T) {
	dir := t.TempDir()
	addr := freePort(t)
	rechatKey := randomHexKey(t)
	leads := filepath.Join(dir, "leads.jsonl")
	cfg := filepath.Join(dir, "leadsync.yaml")
	conf := fmt.Sprintf(`listen: %s
state_dir: %s
admin_socket: %s
log: {level: info, format: json}
drain: 5s
sources:
  - name: hemnet
    provider: hemnet
    keys: [%s]
  - name: reapit
    provider: reapit
    signature: legacy
    client_id: %s
  - name: rechat
    provider: rechat
    key: %s
  - name: website
    provider: generic
    signature:
      header: X-Webhook-Signature
      timestamp_header: X-Webhook-Timestamp
      signed: "{timestamp}{body}"
      encoding: hex
      secret: %s
    event_id: /id
    fields: {email: /data/user/email, first_name: /data/user/firstName, message: /data/message}
sinks:
  - name: everything
    type: file
    path: %s
    match: {test: true}
`, addr, filepath.Join(dir, "state"), filepath.Join(dir, "admin.sock"), provHemnetKey, provReapitClient,
		rechatKey, provGenericSecret, leads)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runCLI(t, dir, nil, "check", "--config", cfg); code != 0 {
		t.Fatalf("check: exit %d:\n%s", code, out)
	}
	d := startDaemon(t, cfg, addr)

	providers := map[string]string{"hemnet": "hemnet", "reapit": "reapit", "rechat": "rechat", "website": "generic"}
	for _, src := range []string{"hemnet", "reapit", "rechat", "website"} {
		out, code := runCLI(t, dir, nil, "send-test", src, "--config", cfg)
		if code != 0 || !strings.Contains(out, "200") || !strings.Contains(out, `"accepted"`) {
			t.Fatalf("send-test %s: exit %d:\n%s\n%s", src, code, out, tail(d.logs.String()))
		}
	}
	var got []jsonlLead
	pollUntil(t, d, 10*time.Second, "the file sink never held a lead per provider", func() bool {
		got = leadsInFile(t, leads)
		return len(got) >= len(providers)
	})
	time.Sleep(100 * time.Millisecond) // a stray extra lead would show now
	got = leadsInFile(t, leads)
	if len(got) != len(providers) {
		t.Errorf("file sink holds %d leads, want %d (one per provider)", len(got), len(providers))
	}
	perSource := map[string]int{}
	for _, l := range got {
		leadtest.Validate(t, l.Raw)
		perSource[l.Source.Name]++
		if want, ok := providers[l.Source.Name]; !ok || l.Source.Provider != want {
			t.Errorf("lead from source %q has source.provider %q, want %q", l.Source.Name, l.Source.Provider, want)
		}
		if l.Source.Name == "reapit" && !l.Test {
			t.Errorf("the reapit sample (customer SBOX) made a lead with test: false: %s", l.Raw)
		}
	}
	for src := range providers {
		if perSource[src] != 1 {
			t.Errorf("source %s: %d leads in the file, want 1", src, perSource[src])
		}
	}

	// Wrongly signed: 401 for each; the same request rightly signed: 200.
	base := "http://" + addr + "/webhooks/"
	type signer func(right bool) (*http.Request, error)
	signers := map[string]signer{
		"hemnet": func(right bool) (*http.Request, error) {
			key := provHemnetKey
			if !right {
				key = "not-" + key
			}
			return hemnet.SignedRequest(base+"hemnet", []byte(key), hemnet.Sample(""), time.Now())
		},
		"reapit": func(right bool) (*http.Request, error) {
			id := provReapitClient
			if !right {
				id = "not-" + id
			}
			return reapit.SignedRequest(base+"reapit", reapit.Sample("", ""), id)
		},
		"rechat": func(right bool) (*http.Request, error) {
			key := rechatKey
			if !right {
				key = randomHexKey(t)
			}
			return rechat.SignedRequest(base+"rechat", key, rechat.SampleContacts(1))
		},
		"website": func(right bool) (*http.Request, error) {
			secret := provGenericSecret
			if !right {
				secret = "not-" + secret
			}
			s := websiteSource(t, secret)
			now := time.Now()
			return s.SignedRequest(base+"website", s.Sample(now), now)
		},
	}
	for src, sign := range signers {
		req, err := sign(false)
		if code, body := do(t, req, err); code != http.StatusUnauthorized {
			t.Errorf("%s signed with the wrong key: %d %s, want 401", src, code, body)
		}
		req, err = sign(true)
		if code, body := do(t, req, err); code != http.StatusOK || !strings.Contains(body, `"accepted"`) {
			t.Errorf("%s signed with the right key: %d %s, want 200 accepted", src, code, body)
		}
	}

	// Every source counted its two accepted events and its one rejection,
	// and every lead left the queue.
	var st e2eStatus
	pollUntil(t, d, 10*time.Second, "deliveries still pending", func() bool {
		st = statusJSON(t, dir, cfg)
		return len(st.Sinks) == 1 && st.Sinks[0].Pending == 0
	})
	if !st.Running {
		t.Error("status says the daemon is not running")
	}
	if len(st.Sources) != len(providers) {
		t.Errorf("status lists %d sources, want %d: %+v", len(st.Sources), len(providers), st.Sources)
	}
	for _, s := range st.Sources {
		if s.Accepted != 2 || s.Rejected != 1 || s.Provider != providers[s.Name] {
			t.Errorf("status of source %s (%s): accepted %d, rejected %d; want %s, 2 and 1",
				s.Name, s.Provider, s.Accepted, s.Rejected, providers[s.Name])
		}
	}
	if st.Sinks[0].Dead != 0 {
		t.Errorf("file sink has %d dead letters", st.Sinks[0].Dead)
	}
	got = leadsInFile(t, leads)
	if len(got) != 2*len(providers) {
		t.Errorf("file sink holds %d leads at the end, want %d", len(got), 2*len(providers))
	}
	for _, l := range got[len(providers):] {
		leadtest.Validate(t, l.Raw)
	}
	d.stop()
}
