package cli

import (
	"fmt"
	"log/slog"

	"github.com/pypyctl/pypyctl/internal/logging"
)

// newLogger makes the App's one logger, the one every library call gets
// in its options: each record is one line on stderr, the message then
// its attributes as " key=value" (a warning starts "warning: ", an error
// "error: "), drawn after the progress line is cleared. The level follows
// the flags when a record is logged, so it can be made before they are
// parsed: --quiet and --json keep errors only, --verbose adds Debug.
func newLogger(a *App) *slog.Logger {
	return slog.New(logging.NewLineHandler(cliLevel{a}, a.emitLog))
}

// cliLevel is the lowest level the flags let through.
type cliLevel struct{ a *App }

func (l cliLevel) Level() slog.Level {
	switch {
	case l.a.Quiet || l.a.JSON:
		return slog.LevelError
	case l.a.Verbose:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// emitLog writes one rendered record to stderr. Builds log from several
// goroutines (release's parallel targets): one line at a time.
func (a *App) emitLog(level slog.Level, line string) {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	a.bar.clear()
	switch {
	case level >= slog.LevelError:
		line = "error: " + line
	case level >= slog.LevelWarn:
		line = "warning: " + line
	}
	fmt.Fprintln(a.Stderr, line)
}

// setBar makes p the progress line a log line clears first.
func (a *App) setBar(p *progress) {
	a.logMu.Lock()
	defer a.logMu.Unlock()
	a.bar = p
}
