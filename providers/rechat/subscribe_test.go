package rechat_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/leadsync/leadsync/providers/rechat"
)

const (
	docToken = "rct_Zq81mN4vXc7LbT2wPe9kYs3Hd5Gf0aJu"
	docBrand = "8929cf8b-6bcc-484a-a7a6-242eaf70cb7a"
	docKey   = "16b43e2f5379346d4e605f4389c8366bece1756a22fbef3a7906549d8eaf097e"
)

// docWebhook is the webhook of Rechat's documentation example.
const docWebhook = `{"id": "d9dc8237-9515-4832-ad51-c77978fc1c13", "created_at": 1774173334.258162,
"updated_at": 1774173334.258162, "deleted_at": null, "brand": "8929cf8b-6bcc-484a-a7a6-242eaf70cb7a",
"topic": "Showings", "url": "https://localhost:3000", "key": "` + docKey + `", "tags": null, "type": "brand_webhook"}`

// docServer answers like the documentation, after checking the request's
// method, path, auth and body shape; a failed check answers 400 with the
// Authorization header echoed.
func docServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(msg string) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, msg+"; Authorization: "+r.Header.Get("Authorization"))
		}
		if r.Header.Get("Authorization") != "Bearer "+docToken {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message": "bad token `+r.Header.Get("Authorization")+`"}`)
			return
		}
		base := "/brands/" + docBrand + "/webhooks"
		switch {
		case r.Method == http.MethodPost && r.URL.Path == base:
			var body map[string]string
			if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil ||
				len(body) != 2 || body["topic"] != "Showings" || body["url"] != "https://localhost:3000" {
				fail("bad body")
				return
			}
			io.WriteString(w, `{"code": "OK", "data": `+docWebhook+`}`)
		case r.Method == http.MethodGet && r.URL.Path == base:
			if q := r.URL.Query().Get("topic"); q != "" && q != "Showings" {
				io.WriteString(w, `{"code": "OK", "data": [], "info": {"count": 0, "total": 0}}`)
				return
			}
			io.WriteString(w, `{"code": "OK", "data": [`+docWebhook+`], "info": {"count": 1, "total": 0}}`)
		case r.Method == http.MethodDelete && r.URL.Path == base+"/d9dc8237-9515-4832-ad51-c77978fc1c13":
			w.WriteHeader(http.StatusNoContent)
		default:
			fail("no route " + r.Method + " " + r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWebhookClientAsDocumented(t *testing.T) {
	srv := docServer(t)
	c := &rechat.WebhookClient{APIURL: srv.URL + "/", Token: docToken}
	ctx := context.Background()

	w, err := c.CreateWebhook(ctx, docBrand, "showings", "https://localhost:3000")
	if err != nil {
		t.Fatal(err)
	}
	if w.ID != "d9dc8237-9515-4832-ad51-c77978fc1c13" || w.Key != docKey || w.Topic != "Showings" || w.Brand != docBrand || !rechat.ValidKey(w.Key) {
		t.Fatalf("created %+v", w)
	}
	if got := w.Created(); got.Unix() != 1774173334 || got.Nanosecond()/1e6 != 258 {
		t.Fatalf("Created() = %v", got)
	}

	list, err := c.ListWebhooks(ctx, docBrand, "")
	if err != nil || len(list) != 1 || list[0].Key != docKey {
		t.Fatalf("list: %v %+v", err, list)
	}
	if list, err := c.ListWebhooks(ctx, docBrand, "Contacts"); err != nil || len(list) != 0 {
		t.Fatalf("list Contacts: %v %+v", err, list)
	}
	if err := c.DeleteWebhook(ctx, docBrand, w.ID); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookClientErrorsHideTheToken(t *testing.T) {
	srv := docServer(t)
	ctx := context.Background()
	long := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, strings.Repeat("x", 500)+r.Header.Get("Authorization"))
	}))
	defer long.Close()

	for name, c := range map[string]struct {
		client *rechat.WebhookClient
		call   func(*rechat.WebhookClient) error
		status int
		want   string
	}{
		"wrong token": {&rechat.WebhookClient{APIURL: srv.URL, Token: docToken + "x"}, func(c *rechat.WebhookClient) error {
			_, err := c.CreateWebhook(ctx, docBrand, "Contacts", "https://h.example/w")
			return err
		}, 401, "bad token Bearer [token]"},
		"wrong route": {&rechat.WebhookClient{APIURL: srv.URL, Token: docToken}, func(c *rechat.WebhookClient) error {
			return c.DeleteWebhook(ctx, docBrand, "nope")
		}, 400, "Authorization: Bearer [token]"},
		"long body": {&rechat.WebhookClient{APIURL: long.URL, Token: docToken}, func(c *rechat.WebhookClient) error {
			_, err := c.ListWebhooks(ctx, docBrand, "")
			return err
		}, 500, "xxx…"},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.call(c.client)
			var ae *rechat.APIError
			if !errors.As(err, &ae) || ae.Status != c.status || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want status %d and %q", err, c.status, c.want)
			}
			if strings.Contains(err.Error(), c.client.Token) || len(ae.Body) > 310 {
				t.Fatalf("error shows the token or a long body: %v", err)
			}
		})
	}
}

func TestWebhookClientRefuses(t *testing.T) {
	ctx := context.Background()
	for name, c := range map[string]struct {
		api, token, brand, topic, url, want string
	}{
		"http api":     {"http://api.rechat.com", docToken, docBrand, "Contacts", "https://h/w", "must be https"},
		"user info":    {"https://u:p@api.rechat.com", docToken, docBrand, "Contacts", "https://h/w", "user info"},
		"bad topic":    {"", docToken, docBrand, "Listings", "https://h/w", "must be one of"},
		"bad url":      {"", docToken, docBrand, "Deals", "h/w", "absolute"},
		"bad brand":    {"", docToken, "../admin", "Deals", "https://h/w", "brand"},
		"no token":     {"", "", docBrand, "Deals", "https://h/w", "no Rechat API token"},
		"token spaces": {"", "abc def\r\nX: y", docBrand, "Deals", "https://h/w", "contains a space"},
	} {
		t.Run(name, func(t *testing.T) {
			cl := &rechat.WebhookClient{APIURL: c.api, Token: c.token, HTTP: &http.Client{Timeout: time.Second}}
			_, err := cl.CreateWebhook(ctx, c.brand, c.topic, c.url)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if c.token != "" && strings.Contains(err.Error(), c.token) {
				t.Fatalf("error shows the token: %v", err)
			}
		})
	}
}

func TestWebhookTopic(t *testing.T) {
	for in, want := range map[string]string{"contacts": "Contacts", "SHOWINGS": "Showings", " Deals ": "Deals", "listings": ""} {
		if got, ok := rechat.WebhookTopic(in); got != want || ok != (want != "") {
			t.Errorf("WebhookTopic(%q) = %q, %v", in, got, ok)
		}
	}
}
