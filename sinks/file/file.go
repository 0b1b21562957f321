// Package file is the "file" sink: it appends each lead, as its JSON on one
// line, to a JSONL file and fsyncs before reporting success.
//
// The file only ever holds whole lines. A line is written with one write
// under a lock; a write or fsync that fails is taken back by truncating the
// file to its size before the write, and a torn last line left by a crash
// mid-write is cut off when the sink opens the file (it was never
// acknowledged, so the outbox delivers it again).
//
// Repeats: a crash after the fsync and before the outbox records success
// makes the dispatcher deliver the lead again, and the file then holds the
// line twice. The line is the pure lead JSON, as SPEC.md says, with no
// delivery id; readers drop repeats by the lead's event_id (the same
// event_id on two lines is the same event), keeping the last line per lead
// id for the newest state.
//
// Rotation: the sink keeps the file open, and before each line checks that
// the path still names it: a file moved away or deleted is followed by a new
// one at the path. So rotate by moving the file (or with copytruncate); no
// reload is needed.
package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/leadsync/leadsync/sinks"
)

// Config configures a file sink.
type Config struct {
	// Name is the sink's name in the config file, used in logs.
	Name string
	// Path is the JSONL file. Missing directories are created (0750), the
	// file too (0640); it must be a regular file.
	Path string
	// Logger gets the warning about a torn line cut off at open; default
	// slog.Default().
	Logger *slog.Logger
}

// appendFile is what the sink needs of its *os.File; tests put faults in
// between.
type appendFile interface {
	io.Writer
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
	Close() error
}

// Sink is a file sink. It is safe for concurrent use; deliveries are
// written one at a time.
type Sink struct {
	log  *slog.Logger
	path string

	mu sync.Mutex
	f  appendFile // nil once closed, or while pending
	// pending: the file could not be opened yet (see New); each Deliver
	// tries again.
	pending bool
	// undoTo >= 0 means a failed write may have left bytes after this
	// offset, and taking them back failed too: the next Deliver retries it
	// before writing.
	undoTo int64
}

var (
	_ sinks.Sink   = (*Sink)(nil)
	_ sinks.Eraser = (*Sink)(nil)
)

// New opens (or creates) c.Path for appending and cuts off a torn last line.
// Errors name the key at fault.
func New(c Config) (*Sink, error) {
	if c.Path == "" {
		return nil, errors.New("path: required")
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Sink{log: log.With("sink", c.Name), path: c.Path, undoTo: -1}
	f, err := s.open()
	switch {
	case err == nil:
		s.f = f
	case unavailable(err):
		// Not this config's fault but the machine's (permissions, a
		// read-only or full file system): the sink starts down, its leads
		// queue in the outbox, and each delivery tries to open the file
		// again. Refusing to start would refuse every webhook instead.
		s.pending = true
		s.log.Error("file sink cannot open its file; its leads wait in the outbox until it can", "err", err)
	default:
		return nil, fmt.Errorf("path: %w", err)
	}
	return s, nil
}

// open opens (or creates, with its directories) the path for appending and
// cuts off a torn last line.
func (s *Sink) open() (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o750); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(s.path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	if err := s.repairTail(s.path, f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// ready makes sure the sink has its file open: a pending sink tries to open
// it now. It is called with s.mu held.
func (s *Sink) ready() error {
	if s.pending {
		f, err := s.open()
		if err != nil {
			return fmt.Errorf("open %s: %w", s.path, err)
		}
		s.f, s.pending = f, false
		s.log.Info("file sink opened its file; the leads that waited go there now", "path", s.path)
	}
	if s.f == nil {
		return errors.New("file sink closed")
	}
	return nil
}

// unavailable reports whether an open failed for a reason that may pass
// (access rights, a read-only or full file system, an I/O error) rather
// than a mistaken path (a directory, not a regular file, a file where a
// directory should be).
func unavailable(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EIO) || errors.Is(err, syscall.EDQUOT)
}

// repairTail truncates the file to just after its last newline, if it does
// not end in one: the rest is a line torn by a crash mid-write.
func (s *Sink) repairTail(path string, f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	if fi.Size() == 0 {
		return nil
	}
	// The write handle cannot read; a second handle on the same file can.
	r, err := os.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	if rfi, err := r.Stat(); err != nil || !os.SameFile(fi, rfi) {
		return fmt.Errorf("%s: replaced while opening", path)
	}
	end, err := lineEnd(r, fi.Size())
	if err != nil || end == fi.Size() {
		return err
	}
	if err := f.Truncate(end); err != nil {
		return fmt.Errorf("cut torn line: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cut torn line: fsync: %w", err)
	}
	// The bytes are part of a lead: say how many, not what.
	s.log.Warn("cut torn last line, left by a crash mid-write", "path", path, "bytes", fi.Size()-end)
	return nil
}

// lineEnd returns the offset just after the last '\n' before size, 0 if
// there is none. It reads backwards, a block at a time, so that a large
// file is not read whole.
func lineEnd(r io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := r.ReadAt(chunk, start); err != nil {
			return 0, fmt.Errorf("read tail: %w", err)
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// Deliver appends d.Body as one line and fsyncs. A body that is not JSON is
// a permanent error (a bug upstream: no retry fixes it); a write or fsync
// failure is taken back and returned as a retryable error. A done ctx
// writes nothing; once the write has begun it completes regardless, as it
// is quick and must not be torn.
func (s *Sink) Deliver(ctx context.Context, d sinks.Delivery) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	line, err := oneLine(d.Body)
	if err != nil {
		return sinks.Permanent(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ready(); err != nil {
		return err
	}
	if err := s.undo(); err != nil {
		return err
	}
	return s.appendLine(line)
}

// oneLine returns body plus "\n", compacted first if it spans lines, so
// that one line is one lead.
func oneLine(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(body) + 1)
	if bytes.ContainsAny(body, "\r\n") {
		if err := json.Compact(&buf, body); err != nil {
			return nil, fmt.Errorf("lead JSON: %w", err)
		}
	} else {
		if !json.Valid(body) {
			return nil, errors.New("lead JSON: not valid JSON")
		}
		buf.Write(body)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// appendLine writes line and fsyncs; on failure it takes back what landed.
// It is called with s.mu held.
func (s *Sink) appendLine(line []byte) error {
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if fi, err = s.reopenIfMoved(fi); err != nil {
		return err
	}
	n, err := s.f.Write(line)
	switch {
	case err != nil:
		err = fmt.Errorf("write: %w", err)
	case n < len(line):
		err = fmt.Errorf("write: %w", io.ErrShortWrite)
	default:
		if err = s.f.Sync(); err == nil {
			return nil
		}
		// After a failed fsync the line may or may not reach the disk;
		// taking it back makes the retry the only copy.
		err = fmt.Errorf("fsync: %w", err)
	}
	s.undoTo = fi.Size()
	return errors.Join(err, s.undo())
}

// reopenIfMoved makes sure the open file is still the one at the path: a
// file moved away (rotation) or deleted since it was opened would take the
// line where no reader of the path looks — into a deleted file, lost. Then
// the path is opened (created) afresh, and the line goes there. fi is the
// open file's; the returned one is the file's to write. It is called with
// s.mu held, with no write to take back (undo has run).
func (s *Sink) reopenIfMoved(fi fs.FileInfo) (fs.FileInfo, error) {
	pfi, err := os.Stat(s.path)
	if err == nil && os.SameFile(fi, pfi) {
		return fi, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("stat %s: %w", s.path, err)
	}
	f, err := s.open()
	if err != nil {
		return nil, fmt.Errorf("reopen: %w", err)
	}
	nfi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("reopen: stat: %w", err)
	}
	// The old file's lines are all synced: closing it loses nothing.
	_ = s.f.Close()
	s.f = f
	s.log.Info("file moved or removed since it was opened; writing to the path afresh", "path", s.path)
	return nfi, nil
}

// undo truncates the file back to s.undoTo, if a failed write set it. It is
// called with s.mu held.
func (s *Sink) undo() error {
	if s.undoTo < 0 {
		return nil
	}
	if err := s.f.Truncate(s.undoTo); err != nil {
		return fmt.Errorf("take back failed write: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("take back failed write: fsync: %w", err)
	}
	s.undoTo = -1
	return nil
}

// Close closes the file. Every delivered line is already on disk.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = false // closed: no delivery opens the file again
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Path is the file the sink appends to.
func (s *Sink) Path() string { return s.path }

// BodyOnly implements sinks.BodyOnly: the lead JSON is written as it is.
func (s *Sink) BodyOnly() {}
