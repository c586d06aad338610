package translator

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// hostCandidates are the names looked up on PATH when no --host-python is
// given, in order. PyPy2.7 is preferred: it translates 2–3× faster than
// CPython 2.7 and has cffi built in.
func hostCandidates() []string { return []string{"pypy", "pypy2", "pypy2.7", "python2.7", "python2"} }

// HostPython is the Python 2.7 interpreter that runs RPython.
type HostPython struct {
	Found          bool   `json:"found"`
	Path           string `json:"path,omitempty"`
	Implementation string `json:"implementation,omitempty"` // PyPy or CPython
	Version        string `json:"version,omitempty"`        // Python version, 2.7.18
	PyPyVersion    string `json:"pypy_version,omitempty"`
	CFFI           string `json:"cffi,omitempty"`
	Machine        string `json:"machine,omitempty"` // platform.machine()
	Bits           int    `json:"bits,omitempty"`    // pointer size of the interpreter
	// Problem says why no usable interpreter was found; Tried lists what
	// was looked at and why each was refused.
	Problem string   `json:"problem,omitempty"`
	Tried   []string `json:"tried,omitempty"`
}

// Describe is a one-line summary: "PyPy 7.3.20 (Python 2.7.18, cffi 1.17.1)".
func (h HostPython) Describe() string {
	if !h.Found {
		return "missing"
	}
	s := h.Implementation
	if h.PyPyVersion != "" {
		s += " " + h.PyPyVersion
	}
	return fmt.Sprintf("%s (Python %s, cffi %s, %s %d-bit)", s, h.Version, h.CFFI, h.Machine, h.Bits)
}

// probeScript runs under Python 2 and 3 alike so a Python 3 named "pypy"
// is recognised and refused instead of crashing the probe.
const probeScript = `import sys, platform, struct
v = sys.version_info
out = ["impl=" + platform.python_implementation(),
       "version=%d.%d.%d" % (v[0], v[1], v[2]),
       "machine=" + platform.machine(),
       "bits=%d" % (struct.calcsize("P") * 8)]
pv = getattr(sys, "pypy_version_info", None)
if pv is not None:
    out.append("pypy=%d.%d.%d" % (pv[0], pv[1], pv[2]))
try:
    import cffi
    out.append("cffi=" + cffi.__version__)
except Exception as e:
    out.append("cffi-error=%s" % (e,))
sys.stdout.write("\n".join(out) + "\n")
`

// probeTimeout bounds one interpreter probe; a wedged binary must not hang
// planning.
const probeTimeout = 30 * time.Second

// ProbeHost runs path (under prefix, e.g. qemu-user) and reads what it is.
// env ("NAME=value") are the --pass-env variables the translation gets
// too, so the probe sees the interpreter as RPython will (a CPython 2.7
// whose cffi comes from PYTHONPATH). The returned HostPython has Found set
// only when it can run RPython.
func ProbeHost(ctx context.Context, m *Machine, prefix []string, path string, env ...string) (HostPython, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	argv := append(append([]string{}, prefix...), path, "-c", probeScript)
	out, err := m.Run(ctx, append([]string{"PATH=" + m.Getenv("PATH"), "LC_ALL=C.UTF-8", "PYTHONHASHSEED=0"}, env...), argv...)
	if err != nil {
		return HostPython{Path: path}, fmt.Errorf("probe %s: %w", path, err)
	}
	h, err := parseProbe(out)
	h.Path = path
	if err != nil {
		return h, fmt.Errorf("probe %s: %w", path, err)
	}
	return h, h.usable()
}

func parseProbe(out []byte) (HostPython, error) {
	var h HostPython
	cffiErr := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "impl":
			h.Implementation = v
		case "version":
			h.Version = v
		case "pypy":
			h.PyPyVersion = v
		case "cffi":
			h.CFFI = v
		case "cffi-error":
			cffiErr = v
		case "machine":
			h.Machine = v
		case "bits":
			h.Bits, _ = strconv.Atoi(v)
		}
	}
	if h.Version == "" {
		return h, fmt.Errorf("unexpected probe output %q", lastLines(string(out), 3))
	}
	if h.CFFI == "" && cffiErr != "" {
		h.Problem = "import cffi failed: " + cffiErr
	}
	return h, nil
}

// usable marks h Found when it is a 2.7 with cffi, else says why not.
func (h *HostPython) usable() error {
	switch {
	case !strings.HasPrefix(h.Version, "2.7."):
		h.Problem = fmt.Sprintf("it is %s %s; RPython needs Python 2.7", h.Implementation, h.Version)
	case h.CFFI == "":
		if h.Problem == "" {
			h.Problem = "import cffi failed"
		}
		h.Problem = fmt.Sprintf("it is %s %s but %s; RPython needs cffi", h.Implementation, h.Version, h.Problem)
	default:
		h.Found, h.Problem = true, ""
		return nil
	}
	return fmt.Errorf("%s: %s", h.Path, h.Problem)
}

// FindHost picks the interpreter that will run RPython: explicit when
// given (--host-python), else the first PyPy 2.7 among the candidates on
// PATH, else the first CPython 2.7 with cffi. Each is probed with env
// (see ProbeHost).
func FindHost(ctx context.Context, m *Machine, explicit string, prefix []string, env ...string) HostPython {
	if explicit != "" {
		p, err := m.LookPath(explicit)
		if err != nil {
			return HostPython{Problem: fmt.Sprintf("--host-python %s: %v", explicit, err)}
		}
		h, err := ProbeHost(ctx, m, prefix, p, env...)
		if err != nil {
			return HostPython{Path: p, Problem: err.Error()}
		}
		return h
	}
	var tried []string
	var cpython *HostPython
	seen := map[string]bool{}
	for _, name := range hostCandidates() {
		p, err := m.LookPath(name)
		if err != nil {
			tried = append(tried, name+": not on PATH")
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			real = p
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		h, err := ProbeHost(ctx, m, prefix, p, env...)
		if err != nil {
			tried = append(tried, err.Error())
			continue
		}
		if h.Implementation == "PyPy" {
			h.Tried = tried
			return h
		}
		if cpython == nil {
			c := h
			cpython = &c
		}
		tried = append(tried, fmt.Sprintf("%s: %s %s (usable; still looking for PyPy2.7)", p, h.Implementation, h.Version))
	}
	if cpython != nil {
		cpython.Tried = tried
		return *cpython
	}
	return HostPython{
		Problem: "no Python 2.7 interpreter with cffi found (looked for " + strings.Join(hostCandidates(), ", ") + " on PATH)",
		Tried:   tried,
	}
}

// hostInstallAdvice says what to install to get a host interpreter: what
// apt offers on this machine, else PyPy2.7 from pypy.org.
func hostInstallAdvice(ctx context.Context, m *Machine, platform string) string {
	download := "download PyPy2.7 (cffi built in) from https://pypy.org/download.html"
	if platform != "" {
		download += fmt.Sprintf(" (pypy2.7-v7.3.20-%s.tar.bz2)", platform)
	}
	download += ", unpack it and pass --host-python <dir>/bin/pypy"
	if m.AptCandidates == nil {
		return download
	}
	cands := m.AptCandidates(ctx, "pypy", "python2.7")
	if cands == nil {
		return download
	}
	switch {
	case cands["pypy"] != "":
		return fmt.Sprintf("apt-get install pypy (apt offers PyPy2.7 %s, cffi built in); or %s", cands["pypy"], download)
	case cands["python2.7"] != "":
		return fmt.Sprintf("apt-get install python2.7 (apt offers %s) and cffi for it; or, 2-3x faster, %s", cands["python2.7"], download)
	}
	return "apt has no Python 2.7 here (apt-cache policy pypy python2.7: no candidate); " + download
}
