package file_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/leadsync/leadsync/sinks"
	"github.com/leadsync/leadsync/sinks/file"
)

func TestEraseRemovesOnlyThePersonAndKeepsAppending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leads.jsonl")
	s, err := file.New(file.Config{Name: "archive", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, email := range []string{"anna@example.com", "bo@example.com", "anna@example.com"} {
		body := fmt.Appendf(nil, `{"n":%d,"person":{"email":%q}}`, i, email)
		if err := s.Deliver(context.Background(), sinks.Delivery{ID: fmt.Sprint("msg_", i), Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Erase(func(l []byte) bool { return bytes.Contains(l, []byte("anna@example.com")) })
	if err != nil || n != 2 {
		t.Fatalf("erase = %d, %v; want 2", n, err)
	}
	if err := s.Deliver(context.Background(), sinks.Delivery{ID: "msg_3", Body: []byte(`{"n":3}`)}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "{\"n\":1,\"person\":{\"email\":\"bo@example.com\"}}\n{\"n\":3}\n"
	if string(got) != want {
		t.Fatalf("file after erase:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat(path + ".erase"); !os.IsNotExist(err) {
		t.Fatalf("temp file left behind: %v", err)
	}
}
