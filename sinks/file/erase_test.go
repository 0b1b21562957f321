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

// Erasing a person the file does not hold writes nothing: it works on a
// full disk (here: the copy cannot even be created).
func TestEraseOfNobodyNeedsNoSpace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leads.jsonl")
	s, err := file.New(file.Config{Name: "archive", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Deliver(context.Background(), sinks.Delivery{ID: "msg_1", Body: []byte(`{"person":{"email":"bo@example.com"}}`)}); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path+".erase", 0o700); err != nil { // where the copy would go
		t.Fatal(err)
	}
	n, err := s.Erase(func(l []byte) bool { return bytes.Contains(l, []byte("nobody@example.com")) })
	if err != nil || n != 0 {
		t.Fatalf("erase of nobody = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.Erase(func(l []byte) bool { return bytes.Contains(l, []byte("bo@example.com")) }); err == nil {
		t.Fatal("erase of a held person succeeded without a place for its copy")
	}
}
