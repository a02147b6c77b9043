// Package logging builds regen's *slog.Logger: tint (coloured, human) on a
// terminal, JSON otherwise. In both, a time.Duration attribute reads as Go
// writes it ("1.5s", "250ms"), never as a count of nanoseconds.
//
//	log := logging.New(os.Stderr, "info", "auto")
package logging

import (
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/lmittmann/tint"
	"golang.org/x/term"
)

// New returns a logger writing to w at level ("debug", "info", "warn",
// "error"). format "auto" picks tint when w is a terminal, JSON otherwise;
// "text" forces tint, "json" forces JSON.
func New(w io.Writer, level, format string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	if format == "text" || (format == "auto" && IsTerminal(w)) {
		return slog.New(tint.NewTextHandler(w, &tint.Options{Level: lvl, TimeFormat: time.TimeOnly, NoColor: !IsTerminal(w)}))
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl, ReplaceAttr: durationString}))
}

// durationString writes a time.Duration attribute as its String() ("1.5s"),
// the form tint, flags and the config file use; slog's JSON handler would
// write nanoseconds.
func durationString(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
