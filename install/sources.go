package install

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/pypyctl/pypyctl/install/catalogue"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/publish/index"
)

// Source kinds, in the order a user meets them.
const (
	// SourceIndex is a versions.json that pypyctl publish wrote (or any
	// index with sha256 or SHA256SUMS beside its archives).
	SourceIndex = "index"
	// SourceUpstream is upstream's releases: the catalogue compiled into
	// pypyctl, or a file in the same format that replaces it.
	SourceUpstream = "upstream"
)

// Environment variables and config keys that choose sources.
const (
	MirrorEnv     = "PYPYCTL_PYPY_MIRROR"
	CatalogueEnv  = "PYPYCTL_CATALOGUE"
	NoUpstreamEnv = "PYPYCTL_NO_UPSTREAM"
)

// EmbeddedCatalogue is the Location of the compiled-in catalogue.
const EmbeddedCatalogue = "embedded"

// Source is one place versions come from, and why it is used.
type Source struct {
	Kind string `json:"kind"`
	// Location is an index or catalogue URL or path; EmbeddedCatalogue
	// for the compiled-in upstream catalogue.
	Location string `json:"location"`
	// From says what configured it: "--index", "$PYPYCTL_INDEX",
	// "config.yaml", "default".
	From string `json:"from"`
	// Mirror replaces where upstream archives are downloaded from (the
	// directory of their download_url); upstream sources only.
	Mirror string `json:"mirror,omitempty"`
}

func (s Source) String() string {
	switch {
	case s.Kind == SourceUpstream && s.Location == EmbeddedCatalogue:
		return "upstream catalogue (built in)"
	case s.Kind == SourceUpstream:
		return "upstream catalogue " + s.Location
	}
	return "index " + s.Location
}

// Sources are searched in order; the first that has a match wins.
type Sources []Source

// SourceFlags are the command-line choices about sources.
type SourceFlags struct {
	Indexes    []string // --index, repeatable
	Catalogue  string   // --catalogue
	Mirror     string   // --mirror
	NoUpstream bool     // --no-upstream
}

// ResolveSources puts the sources in order: the pypyctl indexes the user
// named (--index, else $PYPYCTL_INDEX, else config.yaml's index/indexes),
// then upstream's releases (the built-in catalogue, or --catalogue,
// $PYPYCTL_CATALOGUE, config.yaml's catalogue) unless turned off. The
// indexes come first because naming one is asking for its builds; upstream
// answers whatever they lack. Bad values fail here, before any work.
func ResolveSources(fl SourceFlags, getenv func(string) string, c Config) (Sources, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out Sources
	add := func(locs []string, from string) error {
		for _, l := range locs {
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			if _, err := index.LocationURL(l); err != nil {
				return fmt.Errorf("%s: %w", from, err)
			}
			out = append(out, Source{Kind: SourceIndex, Location: l, From: from})
		}
		return nil
	}
	var err error
	switch {
	case len(fl.Indexes) > 0:
		err = add(fl.Indexes, "--index")
	case getenv(IndexEnv) != "":
		err = add(strings.Split(getenv(IndexEnv), ","), "$"+IndexEnv)
	default:
		var locs []string
		for _, l := range append([]string{c.Index}, c.Indexes...) {
			locs = append(locs, c.path(l))
		}
		err = add(locs, "config.yaml")
	}
	if err != nil {
		return nil, err
	}
	if fl.NoUpstream || getenv(NoUpstreamEnv) == "1" || (c.Upstream != nil && !*c.Upstream) {
		if len(out) == 0 {
			return nil, errors.New("no source to install from: upstream is turned off and no index is set (use --index, $" + IndexEnv + " or index: in config.yaml)")
		}
		return out, nil
	}
	up := Source{Kind: SourceUpstream, Location: EmbeddedCatalogue, From: "default"}
	switch {
	case fl.Catalogue != "":
		up.Location, up.From = fl.Catalogue, "--catalogue"
	case getenv(CatalogueEnv) != "":
		up.Location, up.From = getenv(CatalogueEnv), "$"+CatalogueEnv
	case c.Catalogue != "":
		up.Location, up.From = c.path(c.Catalogue), "config.yaml"
	}
	if up.Location != EmbeddedCatalogue {
		if _, err := index.LocationURL(up.Location); err != nil {
			return nil, fmt.Errorf("%s: %w", up.From, err)
		}
	}
	mirror, mfrom := fl.Mirror, "--mirror"
	switch {
	case mirror != "":
	case getenv(MirrorEnv) != "":
		mirror, mfrom = getenv(MirrorEnv), "$"+MirrorEnv
	default:
		mirror, mfrom = c.Mirror, "config.yaml mirror"
	}
	if mirror != "" {
		u, err := url.Parse(mirror)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") || (u.Scheme != "file" && u.Host == "") {
			return nil, fmt.Errorf("%s: %q is not an http(s):// or file:// URL", mfrom, mirror)
		}
		up.Mirror = strings.TrimRight(mirror, "/")
	}
	return append(out, up), nil
}

// SourceError says a source cannot be read, and how to change it.
type SourceError struct {
	Source Source
	URL    string // the URL that failed, when known
	Err    error
}

func (e *SourceError) Error() string {
	where := e.URL
	if where == "" {
		where = e.Source.Location
	}
	what := "index"
	how := "--index URL, $" + IndexEnv + " or index: in config.yaml"
	if e.Source.Kind == SourceUpstream {
		what = "catalogue"
		how = "--catalogue FILE, $" + CatalogueEnv + " or catalogue: in config.yaml"
	}
	state := "cannot be read"
	var ue *IndexUnavailableError
	if errors.As(e.Err, &ue) {
		state = "is unavailable"
	}
	return fmt.Sprintf("%s %s (set by %s) %s: %s; change it with %s, or run `pypyctl doctor`",
		what, where, e.Source.From, state, reason(e.Err, where), how)
}
func (e *SourceError) Unwrap() error { return e.Err }

// reason is err without the URL the message already names and without
// Go's "Get \"…\":" wrapping.
func reason(err error, u string) string {
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return "not found"
	}
	var se *statusError
	if errors.As(err, &se) {
		return fmt.Sprintf("the server answered %d %s", se.status, strings.ToLower(http.StatusText(se.status)))
	}
	var dm *fsutil.DigestMismatchError
	if errors.As(err, &dm) {
		return fmt.Sprintf("sha256 mismatch: expected %s, got %s", dm.Expected, dm.Actual)
	}
	var iu *IndexUnavailableError
	if errors.As(err, &iu) {
		err = iu.Err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return "no such host " + dns.Name
	}
	var off *OfflineError
	if errors.As(err, &off) {
		return "offline (--offline), and not in the cache"
	}
	msg := err.Error()
	msg = strings.ReplaceAll(msg, u+": ", "")
	return strings.ReplaceAll(msg, u, "it")
}

// loadSource reads one source. Index failures keep their kind
// (IndexUnavailableError for network trouble) inside a SourceError.
func (f *fetcher) loadSource(ctx context.Context, s Source) (*loadedIndex, error) {
	if s.Kind == SourceUpstream && s.Location == EmbeddedCatalogue {
		ix, err := catalogue.Upstream()
		if err != nil {
			return nil, err
		}
		return &loadedIndex{Source: index.Source{Index: ix}, src: s}, nil
	}
	li, err := f.loadIndex(ctx, s.Location)
	if err != nil {
		u := ""
		if lu, uerr := index.LocationURL(s.Location); uerr == nil {
			u = lu.String()
		}
		return nil, &SourceError{Source: s, URL: u, Err: err}
	}
	li.src = s
	return li, nil
}

// sourcesOf is the sources an install uses: o.Sources, else the one
// index o.Index names, else upstream's built-in catalogue.
func (o Options) sourcesOf() Sources {
	switch {
	case len(o.Sources) > 0:
		return o.Sources
	case o.Index != "":
		return Sources{{Kind: SourceIndex, Location: o.Index, From: "options"}}
	}
	return Sources{{Kind: SourceUpstream, Location: EmbeddedCatalogue, From: "default"}}
}

// NotInstallableError refuses a catalogue entry that has no published
// sha256: pypyctl never installs what it cannot verify.
type NotInstallableError struct {
	File   string
	Source Source
}

func (e *NotInstallableError) Error() string {
	return fmt.Sprintf("%s is listed by the %s but has no published sha256, so it is not installable; pick another version or format", e.File, e.Source)
}

// resolveSources searches the sources in order and returns the first
// match with the source it came from. A source that cannot be read stops
// the search: silently skipping a configured index would install something
// else than the user asked for.
// check, when not nil, vets each source once it is read and before it is
// searched (Install checks signed indexes there); its error stops the
// search.
func resolveSources(ctx context.Context, f *fetcher, srcs Sources, r Request, host index.Platform, check func(*loadedIndex) error) (*loadedIndex, Candidate, error) {
	miss := &NoMatchError{Request: r.String(), Host: host}
	var names []string
	for _, s := range srcs {
		li, err := f.loadSource(ctx, s)
		if err != nil {
			return nil, Candidate{}, err
		}
		if check != nil {
			if err := check(li); err != nil {
				return nil, Candidate{}, err
			}
		}
		names = append(names, li.describe())
		c, err := Resolve(li.Index, r, host)
		var nm *NoMatchError
		if errors.As(err, &nm) {
			for _, a := range nm.Available {
				var py, pp string
				fmt.Sscanf(a, "%s (PyPy %s", &py, &pp)
				miss.Available = addNewest(miss.Available, py, strings.TrimSuffix(pp, ")"))
			}
			continue
		}
		if err != nil {
			return nil, Candidate{}, err
		}
		c.Source = s
		if s.Kind == SourceUpstream && c.File.SHA256 == "" {
			return nil, Candidate{}, &NotInstallableError{File: c.File.Filename, Source: s}
		}
		return li, c, nil
	}
	miss.Where = strings.Join(names, " or ")
	return nil, Candidate{}, miss
}

// OfflineError refuses a network request under --offline.
type OfflineError struct{ URL string }

func (e *OfflineError) Error() string {
	return "offline (--offline): not fetching " + e.URL + "; it is not in the cache"
}

// SourceStatus is what `pypyctl doctor` reports about one source.
type SourceStatus struct {
	Source   Source `json:"source"`
	OK       bool   `json:"ok"`
	Releases int    `json:"releases,omitempty"`
	Error    string `json:"error,omitempty"`
}

// CheckSources reads every source once and says whether it can be used.
func (in *Installer) CheckSources(ctx context.Context, srcs Sources) []SourceStatus {
	f := in.fetcher("")
	f.retries = 0
	var out []SourceStatus
	for _, s := range srcs {
		st := SourceStatus{Source: s}
		li, err := f.loadSource(ctx, s)
		if err != nil {
			st.Error = err.Error()
		} else {
			st.OK, st.Releases = true, len(li.Index)
		}
		out = append(out, st)
	}
	return out
}

// DownloadError says an archive could not be fetched or verified, naming
// its URL once and the way out for its kind of source.
type DownloadError struct {
	File, URL string
	Source    Source
	Err       error
}

func (e *DownloadError) Error() string {
	msg := fmt.Sprintf("download %s from %s: %s", e.File, e.URL, reason(e.Err, e.URL))
	var dm *fsutil.DigestMismatchError
	var off *OfflineError
	switch {
	case errors.As(e.Err, &off):
		return msg
	case errors.As(e.Err, &dm):
		return msg + " (the bytes served are not the ones the " + e.Source.String() + " lists; nothing was installed)"
	case e.Source.Kind == SourceUpstream && e.Source.Mirror == "":
		return msg + "; to download upstream's archives from elsewhere use --mirror URL, $" + MirrorEnv + " or mirror: in config.yaml"
	case e.Source.Kind == SourceUpstream:
		return msg + "; check the mirror (set by --mirror, $" + MirrorEnv + " or mirror: in config.yaml)"
	}
	return msg + "; check the index with `pypyctl doctor`"
}
func (e *DownloadError) Unwrap() error { return e.Err }
