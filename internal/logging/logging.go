// Package logging is what pypyctl's packages share about log/slog. A
// library takes a *slog.Logger in its options, where nil means silence
// (OrDiscard), and logs a short message with key/value attributes; the
// command layer (internal/cli) makes the one logger of a run and prints
// its records as lines on stderr with a LineHandler. Loggers are passed
// explicitly: nothing here, or anywhere, sets slog's default.
package logging

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// OrDiscard returns l, or for nil a logger that drops every record.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// LineHandler is a slog.Handler that renders each record as one line of
// text, its message then each attribute as " key=value" (the logger's
// own, from With, first; a group's keys as group.key; values with
// spaces, quotes or = quoted), and hands the line to an emit function
// with the record's level. It keeps no time and no level in the line:
// what a line looks like beyond that is the emit function's choice.
type LineHandler struct {
	level slog.Leveler
	emit  func(level slog.Level, line string)
	attrs string // WithAttrs' attributes, rendered
	group string // WithGroup's names, each followed by "."
}

// NewLineHandler returns a LineHandler passing records at level and above
// (nil: slog.LevelInfo) to emit. The handler does not serialise calls:
// emit must be safe to call concurrently if the logger is shared.
func NewLineHandler(level slog.Leveler, emit func(level slog.Level, line string)) *LineHandler {
	return &LineHandler{level: level, emit: emit}
}

// Enabled reports whether l is at or above the handler's level.
func (h *LineHandler) Enabled(_ context.Context, l slog.Level) bool {
	min := slog.LevelInfo
	if h.level != nil {
		min = h.level.Level()
	}
	return l >= min
}

// Handle renders r and emits it.
func (h *LineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	b.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		appendAttr(&b, h.group, a)
		return true
	})
	h.emit(r.Level, b.String())
	return nil
}

// WithAttrs returns a handler whose lines carry as after the message.
func (h *LineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	var b strings.Builder
	for _, a := range as {
		appendAttr(&b, h.group, a)
	}
	h2 := *h
	h2.attrs += b.String()
	return &h2
}

// WithGroup returns a handler that qualifies later attributes' keys with
// name.
func (h *LineHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group += name + "."
	return &h2
}

func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			appendAttr(b, g, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	s := a.Value.String()
	if needsQuoting(s) {
		s = strconv.Quote(s)
	}
	b.WriteString(s)
}

// needsQuoting: a value that would not read back as one word.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if unicode.IsSpace(r) || r == '"' || r == '=' || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// Func returns a logger that renders every record, Debug and up, as a
// LineHandler does and hands the line to f, one call at a time: for a
// test that collects what a library logged, or a caller that prints it.
func Func(f func(line string)) *slog.Logger {
	var mu sync.Mutex
	return slog.New(NewLineHandler(slog.LevelDebug, func(_ slog.Level, line string) {
		mu.Lock()
		defer mu.Unlock()
		f(line)
	}))
}
