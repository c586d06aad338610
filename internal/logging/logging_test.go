package logging

import (
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"
)

func TestOrDiscard(t *testing.T) {
	l := Func(func(string) {})
	if OrDiscard(l) != l {
		t.Error("OrDiscard replaced a logger")
	}
	d := OrDiscard(nil)
	if d == nil || d.Enabled(t.Context(), slog.LevelError) {
		t.Errorf("OrDiscard(nil) = %v, want a logger that drops everything", d)
	}
	d.Info("dropped", "k", 1)
}

func TestLineHandler(t *testing.T) {
	type emitted struct {
		level slog.Level
		line  string
	}
	var got []emitted
	level := new(slog.LevelVar)
	l := slog.New(NewLineHandler(level, func(lv slog.Level, s string) { got = append(got, emitted{lv, s}) }))

	l.Info("plain")
	l.Info("packing", "deb", "pypy3_1.0_amd64.deb", "kib", 123, "took", 1500*time.Millisecond)
	l.Warn("cannot ask dpkg", "err", errors.New("exec: dpkg: not found"), "empty", "", "eq", "a=b", "quote", `say "hi"`)
	l.Debug("hidden at Info")
	level.Set(slog.LevelDebug)
	l.Debug("shown at Debug")
	l.With("job", "pypy3.9-linux-amd64").WithGroup("g").With("a", 1).Info("stage", "b", 2, slog.Group("h", "c", 3), slog.Attr{})
	level.Set(slog.LevelError)
	l.Warn("hidden at Error")
	l.Error("shown at Error")

	want := []emitted{
		{slog.LevelInfo, "plain"},
		{slog.LevelInfo, "packing deb=pypy3_1.0_amd64.deb kib=123 took=1.5s"},
		{slog.LevelWarn, `cannot ask dpkg err="exec: dpkg: not found" empty="" eq="a=b" quote="say \"hi\""`},
		{slog.LevelDebug, "shown at Debug"},
		{slog.LevelInfo, "stage job=pypy3.9-linux-amd64 g.a=1 g.b=2 g.h.c=3"},
		{slog.LevelError, "shown at Error"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("lines:\n%v\nwant\n%v", got, want)
	}
}

func TestFunc(t *testing.T) {
	var lines []string
	l := Func(func(s string) { lines = append(lines, s) })
	l.Debug("detail", "n", 1)
	l.Info("step")
	if want := []string{"detail n=1", "step"}; !slices.Equal(lines, want) {
		t.Errorf("lines %q, want %q", lines, want)
	}
}
