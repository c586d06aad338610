package publish

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pypyctl/pypyctl/internal/sums"
)

// Handler serves a published directory read-only: files with Range and
// conditional requests (http.ServeContent) and a strong ETag made of size
// and modification time, directory listings, and 404 for hidden names
// (lock and temp files). Paths are resolved through an os.Root, so
// neither ".." nor a symlink leads outside the directory.
type Handler struct {
	root *os.Root
}

// NewHandler opens dir for serving; Close releases it.
func NewHandler(dir string) (*Handler, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("serve %s: %w", dir, err)
	}
	return &Handler{root: root}, nil
}

// Close releases the directory.
func (h *Handler) Close() error { return h.root.Close() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	name := strings.TrimPrefix(p, "/")
	if name == "" {
		name = "."
	}
	for _, el := range strings.Split(name, "/") {
		if strings.HasPrefix(el, ".") && el != "." {
			http.NotFound(w, r)
			return
		}
	}
	// O_NONBLOCK: opening a FIFO someone left in the directory must not
	// wait for a writer (one stuck goroutine per request); the fstat
	// below then refuses anything but files and directories.
	f, err := h.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		http.Error(w, "stat failed", http.StatusInternalServerError)
		return
	}
	if st.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			// The cleaned absolute path: a relative "b/" resolves wrongly
			// from "/a/b/." or "/a/b/c/..".
			http.Redirect(w, r, strings.TrimSuffix(p, "/")+"/", http.StatusMovedPermanently)
			return
		}
		h.list(w, f, name)
		return
	}
	if !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, st.ModTime().UnixNano(), st.Size()))
	if strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".jsonl") {
		w.Header().Set("Content-Type", "application/json")
	} else if strings.HasSuffix(name, sums.Name) || strings.HasSuffix(name, ".sig") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		// Archives: no sniffing, so clients get the bytes as they are.
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	http.ServeContent(w, r, name, st.ModTime(), f)
}

func (h *Handler) list(w http.ResponseWriter, f *os.File, dir string) {
	ents, err := f.ReadDir(-1)
	if err != nil {
		http.Error(w, "read dir failed", http.StatusInternalServerError)
		return
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		if e.IsDir() || e.Type()&fs.ModeSymlink != 0 && h.isDir(path.Join(dir, n)) {
			n += "/"
		}
		names = append(names, n)
	}
	sort.Strings(names)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	b.WriteString("<!doctype html>\n<pre>\n")
	for _, n := range names {
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a>\n", html.EscapeString((&url.URL{Path: n}).String()), html.EscapeString(n))
	}
	b.WriteString("</pre>\n")
	w.Write([]byte(b.String()))
}

func (h *Handler) isDir(name string) bool {
	st, err := h.root.Stat(name)
	return err == nil && st.IsDir()
}

// Serve serves dir on addr until ctx ends, then shuts down gracefully
// (in-flight downloads get up to 5 s). ready, when not nil, gets the base
// URL once the listener is open, so callers can print it or start clients.
func Serve(ctx context.Context, dir, addr string, ready func(url string)) error {
	h, err := NewHandler(dir)
	if err != nil {
		return err
	}
	defer h.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve %s: %w", dir, err)
	}
	// Every phase of a connection is bounded, so slow or stuck clients
	// cannot pin goroutines and descriptors forever. WriteTimeout allows
	// a large archive over a slow link.
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Minute,
		IdleTimeout:       60 * time.Second,
	}
	if ready != nil {
		ready("http://" + ln.Addr().String() + "/")
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", dir, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down server: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
