// Package logging builds the daemon's *slog.Logger from the `log:` config.
//
// Three concerns live here and nowhere else:
//
//   - the output shape: colour on a terminal, plain lines with sd-daemon
//     priority prefixes ("<6>") under journald, uncoloured text on a pipe or
//     file, or JSON when asked;
//   - the level, held in a *slog.LevelVar so that a reload can change it
//     without rebuilding loggers that were already narrowed with With;
//   - redaction of personal data, applied to every format (see Redacted).
//
// The daemon wires it once:
//
//	tty, journal := logging.Detect(os.Stderr)
//	log, level := logging.New(logging.Options{Level: "info", Format: "auto",
//		Redact: true, Out: os.Stderr, IsTTY: tty, Journal: journal})
//
// and injects log everywhere; tests use Discard.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/lmittmann/tint"
)

// Options configures New. The zero value logs at info, in uncoloured text,
// to os.Stderr.
type Options struct {
	// Level is debug, info, warn or error; "" means info. See ParseLevel.
	Level string
	// Format is auto, text or json; "" (and anything unknown) means auto.
	// auto picks by IsTTY and Journal; text is uncoloured tint output with
	// time stamps; json is slog's JSON handler.
	Format string
	// Redact masks personal data. Setting it to false only has an effect
	// while the level is debug: at any other level data is masked regardless.
	Redact bool
	// Out receives the log lines; nil means os.Stderr.
	Out io.Writer
	// IsTTY says Out is a terminal (format auto: coloured output).
	IsTTY bool
	// Journal says Out is connected to journald (format auto: no colour, no
	// time stamp, an sd-daemon priority prefix on every line).
	Journal bool
}

// rfc3339Milli is the time stamp for text written to files and pipes, where
// the date matters; terminals get tint's shorter default.
const rfc3339Milli = "2006-01-02T15:04:05.000Z07:00"

// New returns the logger described by o and the LevelVar that controls it;
// LevelVar.Set takes effect at once for the logger and everything derived
// from it. An invalid o.Level falls back to info (config validation is
// expected to have rejected it already, with ParseLevel).
func New(o Options) (*slog.Logger, *slog.LevelVar) {
	lv := new(slog.LevelVar)
	if l, err := ParseLevel(o.Level); err == nil {
		lv.Set(l)
	}
	out := o.Out
	if out == nil {
		out = os.Stderr
	}
	var h slog.Handler
	switch {
	case o.Format == "json":
		h = slog.NewJSONHandler(out, &slog.HandlerOptions{Level: lv})
	case o.Format == "text":
		h = tint.NewTextHandler(out, &tint.Options{Level: lv, NoColor: true, TimeFormat: rfc3339Milli})
	case o.Journal:
		h = tint.NewTextHandler(out, &tint.Options{Level: lv, NoColor: true, ReplaceAttr: journalAttr})
	case o.IsTTY:
		h = tint.NewTextHandler(out, &tint.Options{Level: lv})
	default:
		h = tint.NewTextHandler(out, &tint.Options{Level: lv, NoColor: true, TimeFormat: rfc3339Milli})
	}
	return slog.New(newRedactor(h, lv, o.Redact)), lv
}

// ParseLevel parses debug, info, warn or error ("" is info). Config
// validation and reload use it, so that New never sees a bad level.
func ParseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("unknown log level %q: want debug, info, warn or error", s)
}

// Discard returns a logger that drops everything, for tests.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
