package logging

import (
	"os"
	"strconv"
	"syscall"
	"testing"
)

func TestDetect(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(w.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	devIno := strconv.FormatUint(uint64(st.Dev), 10) + ":" + strconv.FormatUint(uint64(st.Ino), 10)

	t.Setenv("JOURNAL_STREAM", "")
	os.Unsetenv("JOURNAL_STREAM")
	if tty, j := Detect(w); tty || j {
		t.Errorf("pipe: tty=%v journal=%v", tty, j)
	}
	t.Setenv("JOURNAL_STREAM", devIno)
	if _, j := Detect(w); !j {
		t.Errorf("JOURNAL_STREAM=%s not matched", devIno)
	}
	t.Setenv("JOURNAL_STREAM", "1:2")
	if _, j := Detect(w); j {
		t.Error("stale JOURNAL_STREAM matched")
	}
	if null, err := os.Open(os.DevNull); err == nil {
		defer null.Close()
		if tty, _ := Detect(null); tty {
			t.Error("/dev/null is a TTY")
		}
	}
}
