package translator

import (
	"bytes"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Phase is one step of RPython's translation as seen in its output.
type Phase struct {
	Name  string `json:"name"`  // RPython's task: annotate, rtype_lltype, …
	Title string `json:"title"` // what RPython prints for it
	// Seconds is wall-clock time from this phase's line to the next one's
	// (or the end of the run).
	Seconds float64 `json:"seconds"`
	// RPythonSeconds is the time RPython's own "Timings:" table gives the
	// task, when it printed one.
	RPythonSeconds *float64 `json:"rpython_seconds,omitempty"`
	// PeakRSSMB is the most resident memory RPython and the programs it
	// started held together during the phase (sampled once a second).
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
	// CPUSeconds is the user+system CPU time RPython and the programs it
	// started used during the phase (sampled once a second, so each
	// phase's edge may shift by up to a second's worth).
	CPUSeconds float64 `json:"cpu_seconds,omitempty"`
}

// groupSample is one measurement of the translation's process group.
type groupSample struct {
	RSS        uint64  // resident bytes now
	CPUSeconds float64 // user+system CPU time used so far
}

// taskForTitle maps the titles rpython/translator/driver.py gives its
// tasks (logged as "[translation:info] <title>...") to the task names.
func taskForTitle(title string) (string, bool) {
	task, ok := map[string]string{
		"Annotating&simplifying":                    "annotate",
		"RTyping":                                   "rtype_lltype",
		"JIT compiler generation":                   "pyjitpl_lltype",
		"test of the JIT on the llgraph backend":    "jittest_lltype",
		"lltype back-end optimisations":             "backendopt_lltype",
		"inserting stack checks":                    "stackcheckinsertion_lltype",
		"Creating database for generating c source": "database_c",
		"Generating c source":                       "source_c",
		"Compiling c source":                        "compile_c",
		"LLInterpreting":                            "llinterpret_lltype",
	}[title]
	return task, ok
}

// gcTransformPhase is not a driver task: the GC transformer runs inside
// database_c, and its "[gctransform...]" log lines mark when it starts.
const gcTransformPhase = "gctransform"

var (
	ansiRE     = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)
	taskLineRE = regexp.MustCompile(`^\[translation:info\] (.+)\.\.\.$`)
	timerRE    = regexp.MustCompile(`^\[Timer\] (.+?)\s+---\s+([0-9.]+) s$`)
	// The rtyper's "[rtyper] specializing: 218100 / 218825 blocks   (99%)".
	percentRE = regexp.MustCompile(`^\[rtyper\] specializing: \d+ / \d+ blocks\s+\((\d+)%\)$`)
)

// phaseLog receives RPython's merged output: it copies every byte to out
// (the log file and any tee), follows the phases and keeps the last lines
// for error messages.
type phaseLog struct {
	mu      sync.Mutex
	out     io.Writer
	now     func() time.Time
	onPhase func(p Phase, n int)

	// onPercent hears the rtyper's progress, in steps of ten.
	onPercent func(phase string, pct int)
	lastPct   int

	partial []byte
	phases  []Phase
	started time.Time // of the current phase
	tail    []string
	cpu     float64 // the group's CPU time at the last sample
}

const tailLines = 15

func newPhaseLog(out io.Writer, now func() time.Time, onPhase func(Phase, int)) *phaseLog {
	return &phaseLog{out: out, now: now, onPhase: onPhase}
}

func (l *phaseLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.out.Write(b); err != nil {
		return 0, err
	}
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(string(bytes.TrimRight(l.partial[:i], "\r")))
		l.partial = l.partial[i+1:]
	}
	return len(b), nil
}

func (l *phaseLog) line(s string) {
	s = ansiRE.ReplaceAllString(s, "")
	l.tail = append(l.tail, s)
	if len(l.tail) > tailLines {
		l.tail = l.tail[len(l.tail)-tailLines:]
	}
	if m := taskLineRE.FindStringSubmatch(s); m != nil {
		if task, ok := taskForTitle(m[1]); ok {
			l.start(task, m[1])
		}
		return
	}
	if m := percentRE.FindStringSubmatch(s); m != nil {
		if pct, err := strconv.Atoi(m[1]); err == nil && pct/10 > l.lastPct/10 && l.onPercent != nil {
			l.onPercent(l.current(), pct)
		}
		if pct, err := strconv.Atoi(m[1]); err == nil {
			l.lastPct = max(l.lastPct, pct)
		}
		return
	}
	if strings.HasPrefix(s, "[gctransform") && l.current() == "database_c" {
		l.start(gcTransformPhase, "GC transformation")
		return
	}
	if m := timerRE.FindStringSubmatch(s); m != nil {
		secs, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return
		}
		for i := range l.phases {
			if l.phases[i].Name == m[1] {
				l.phases[i].RPythonSeconds = &secs
			}
		}
	}
}

// observe records one sample of the process group against the current
// phase: its memory towards the phase's peak, the CPU time used since the
// previous sample towards the phase's CPU time.
func (l *phaseLog) observe(g groupSample) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// A child reaped between two /proc reads can be missed once; its time
	// shows up in its parent's at the next sample, so count only growth.
	delta := g.CPUSeconds - l.cpu
	l.cpu = max(l.cpu, g.CPUSeconds)
	if len(l.phases) == 0 {
		return
	}
	p := &l.phases[len(l.phases)-1]
	if mb := float64(g.RSS>>10) / 1024; mb > p.PeakRSSMB {
		p.PeakRSSMB = float64(int(mb*10)) / 10
	}
	if delta > 0 {
		p.CPUSeconds = math.Round((p.CPUSeconds+delta)*100) / 100
	}
}

func (l *phaseLog) current() string {
	if len(l.phases) == 0 {
		return ""
	}
	return l.phases[len(l.phases)-1].Name
}

func (l *phaseLog) start(task, title string) {
	now := l.now()
	l.closeCurrent(now)
	l.phases = append(l.phases, Phase{Name: task, Title: title})
	l.started = now
	l.lastPct = 0
	if l.onPhase != nil {
		l.onPhase(l.phases[len(l.phases)-1], len(l.phases))
	}
}

func (l *phaseLog) closeCurrent(now time.Time) {
	if len(l.phases) > 0 {
		l.phases[len(l.phases)-1].Seconds = roundSeconds(now.Sub(l.started))
	}
}

// finish ends the last phase and returns all of them.
func (l *phaseLog) finish() []Phase {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.line(string(l.partial))
		l.partial = nil
	}
	l.closeCurrent(l.now())
	return append([]Phase(nil), l.phases...)
}

// lastLines returns the output's last lines, for error messages.
func (l *phaseLog) lastLines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tail...)
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}
