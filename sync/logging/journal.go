package logging

import (
	"log/slog"
	"strconv"
	"strings"
)

// journalAttr turns tint's plain output into journald-native lines: the time
// is dropped (journald stamps every entry itself) and the level gains the
// sd-daemon prefix ("<6>INF ...") that journald, with its default
// SyslogLevelPrefix=yes, strips and records as the entry's priority.
//
// tint passes the built-in time/level/message with no groups, so a caller's
// own top-level "time" or "level" attribute of the same kind is indistinguishable
// and treated alike, as with slog.HandlerOptions.ReplaceAttr.
func journalAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.TimeKey:
		if a.Value.Kind() == slog.KindTime {
			return slog.Attr{}
		}
	case slog.LevelKey:
		if a.Value.Kind() == slog.KindAny {
			if l, ok := a.Value.Any().(slog.Level); ok {
				return slog.String(slog.LevelKey, journalLevel(l))
			}
		}
	case slog.MessageKey:
		// tint writes the message raw; a newline would start a journal entry
		// without a priority, so quote it onto one line.
		if s := a.Value.String(); strings.ContainsAny(s, "\r\n") {
			return slog.String(slog.MessageKey, strconv.Quote(s))
		}
	}
	return a
}

// journalLevel is the level label with its sd-daemon priority prefix
// (sd-daemon.h: SD_ERR 3, SD_WARNING 4, SD_INFO 6, SD_DEBUG 7). The four
// standard levels are constants so the common path does not allocate.
func journalLevel(l slog.Level) string {
	switch l {
	case slog.LevelError:
		return "<3>ERR"
	case slog.LevelWarn:
		return "<4>WRN"
	case slog.LevelInfo:
		return "<6>INF"
	case slog.LevelDebug:
		return "<7>DBG"
	}
	return priority(l) + l.String()
}

// priority maps any level to the sd-daemon prefix of the band it falls in.
func priority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "<3>"
	case l >= slog.LevelWarn:
		return "<4>"
	case l >= slog.LevelInfo:
		return "<6>"
	}
	return "<7>"
}
