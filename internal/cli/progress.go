package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// progress draws one status line on a terminal's stderr; it is silent when
// stderr is not a terminal or with --quiet/--json. The App's logger clears
// the last one made before it prints a line.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	last  time.Time
	drawn bool
	// finished is the step last drawn at 100%: it is not redrawn (a
	// stream of final callbacks would flicker the same line).
	finished string
}

func (a *App) progress() *progress {
	p := &progress{w: a.Stderr}
	if f, ok := a.Stderr.(*os.File); ok && !a.Quiet && !a.JSON {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.on = true
		}
	}
	a.setBar(p)
	return p
}

func (p *progress) update(step string, done, total int64) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	complete := total > 0 && done >= total
	if complete && p.finished == step {
		return
	}
	if time.Since(p.last) < 100*time.Millisecond && !complete {
		return
	}
	if complete {
		p.finished = step
	}
	p.last = time.Now()
	pct := ""
	if total > 0 {
		pct = fmt.Sprintf(" %3d%%", done*100/total)
	}
	fmt.Fprintf(p.w, "\r\033[K%s%s (%s)", step, pct, fsutil.HumanSize(done))
	p.drawn = true
}

func (p *progress) clear() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
