package translator

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// realLog is the shape of RPython's output (rpython/tool/ansi_print.py
// adds colours on a terminal; driver.py logs task titles; timing.py the
// table), including noise that must not start phases.
const realLog = "[platform:msg] Set platform with 'host' cc=None, using cc='gcc', version='Unknown'\n" +
	"[translation:info] Translating target as defined by targetpypystandalone\n" +
	"\x1b[35m[translation:info] Annotating&simplifying...\x1b[0m\n" +
	"[translation:info] with policy: pypy.tool.ann_override.PyPyAnnotatorPolicy\n" +
	"[translation:info] RTyping...\n" +
	"[translation:info] already done: Annotating&simplifying\n" +
	"[translation:info] JIT compiler generation...\n" +
	"[translation:info] lltype back-end optimisations...\n" +
	"[translation:info] inserting stack checks...\n" +
	"[translation:info] Creating database for generating c source...\n" +
	"[gctransform:info] assigning type ids\n" +
	"[gctransform:info] more\n" +
	"[translation:info] Generating c source...\n" +
	"[translation:info] Compiling c source...\n" +
	"[translation:info] Something unknown...\n" +
	"[Timer] Timings:\n" +
	"[Timer] annotate                       --- 812.5 s\n" +
	"[Timer] rtype_lltype                   --- 301.0 s\n" +
	// RPython pads values under 100 s ("%5.1f"): "---  35.0 s".
	"[Timer] backendopt_lltype              ---  35.0 s\n" +
	"[Timer] loading target                 --- 0.1 s\n" +
	"[Timer] Total:                         --- 1113.6 s\n"

func TestPhaseLog(t *testing.T) {
	wantNames := []string{"annotate", "rtype_lltype", "pyjitpl_lltype", "backendopt_lltype", "stackcheckinsertion_lltype",
		"database_c", "gctransform", "source_c", "compile_c"}
	cases := []struct {
		name  string
		chunk int // bytes per Write; 0 = all at once
	}{{"whole", 0}, {"one byte at a time", 1}, {"odd chunks", 7}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := time.Unix(0, 0)
			now := func() time.Time { clock = clock.Add(time.Second); return clock }
			var out bytes.Buffer
			var seen []string
			pl := newPhaseLog(&out, now, func(p Phase, n int) {
				if n != len(seen)+1 {
					t.Errorf("phase %s numbered %d after %d", p.Name, n, len(seen))
				}
				seen = append(seen, p.Name)
			})
			data := []byte(realLog)
			step := c.chunk
			if step == 0 {
				step = len(data)
			}
			for i := 0; i < len(data); i += step {
				end := min(i+step, len(data))
				if n, err := pl.Write(data[i:end]); err != nil || n != end-i {
					t.Fatalf("write: %d, %v", n, err)
				}
			}
			phases := pl.finish()
			if out.String() != realLog {
				t.Fatal("output not copied verbatim")
			}
			var names []string
			for _, p := range phases {
				names = append(names, p.Name)
				if p.Seconds <= 0 {
					t.Errorf("phase %s has %v s", p.Name, p.Seconds)
				}
			}
			if !slices.Equal(names, wantNames) || !slices.Equal(seen, wantNames) {
				t.Fatalf("phases %v, callbacks %v, want %v", names, seen, wantNames)
			}
			if phases[0].Title != "Annotating&simplifying" {
				t.Errorf("title %q (colour codes left?)", phases[0].Title)
			}
			// The clock ticks a second per reading, and it is read once per
			// phase start: annotate ends one tick after it began.
			if phases[0].Seconds != 1 {
				t.Errorf("annotate took %v s on the fake clock, want 1", phases[0].Seconds)
			}
			if phases[0].RPythonSeconds == nil || *phases[0].RPythonSeconds != 812.5 || *phases[1].RPythonSeconds != 301 {
				t.Errorf("RPython's timings not read: %+v %+v", phases[0], phases[1])
			}
			if phases[3].RPythonSeconds == nil || *phases[3].RPythonSeconds != 35 {
				t.Errorf("a padded timing (---  35.0 s, as real RPython prints it) not read: %+v", phases[3])
			}
			if phases[2].RPythonSeconds != nil {
				t.Errorf("pyjitpl got a timing the table did not give")
			}
			tail := pl.lastLines()
			if len(tail) != tailLines || !strings.HasPrefix(tail[len(tail)-1], "[Timer] Total:") {
				t.Errorf("tail %q", tail)
			}
		})
	}
}

func TestPhaseLogGCTransformOnlyInDatabase(t *testing.T) {
	var out bytes.Buffer
	pl := newPhaseLog(&out, time.Now, nil)
	pl.Write([]byte("[translation:info] RTyping...\n[gctransform:info] early line\n"))
	if got := pl.finish(); len(got) != 1 || got[0].Name != "rtype_lltype" {
		t.Fatalf("phases %+v", got)
	}
}

// TestPhaseLogObserve feeds process-group samples between phase lines:
// memory keeps each phase's peak, CPU time goes to the phase that was
// current when it was used, and a sample that missed a just-reaped child
// (a lower total) takes nothing away.
func TestPhaseLogObserve(t *testing.T) {
	const mb = 1 << 20
	pl := newPhaseLog(io.Discard, time.Now, nil)
	steps := []struct {
		line string // a log line first, if any
		rss  uint64
		cpu  float64
	}{
		{"", 100 * mb, 0.5}, // loading the target: no phase yet, not counted
		{"[translation:info] Annotating&simplifying...", 300 * mb, 2.5},
		{"", 200 * mb, 4.0},
		{"", 250 * mb, 3.9}, // a child missed: no negative time
		{"[translation:info] RTyping...", 400 * mb, 4.5},
		{"", 500 * mb, 6.0},
	}
	for _, s := range steps {
		if s.line != "" {
			fmt.Fprintln(pl, s.line)
		}
		pl.observe(groupSample{RSS: s.rss, CPUSeconds: s.cpu})
	}
	got := pl.finish()
	want := []struct {
		name string
		peak float64
		cpu  float64
	}{{"annotate", 300, 3.5}, {"rtype_lltype", 500, 2}}
	if len(got) != len(want) {
		t.Fatalf("phases %+v", got)
	}
	for i, w := range want {
		if got[i].Name != w.name || got[i].PeakRSSMB != w.peak || got[i].CPUSeconds != w.cpu {
			t.Errorf("phase %d: %s peak %v MB cpu %v s, want %s %v MB %v s",
				i, got[i].Name, got[i].PeakRSSMB, got[i].CPUSeconds, w.name, w.peak, w.cpu)
		}
	}
}
