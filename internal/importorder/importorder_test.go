package importorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

const module = "github.com/pypyctl/pypyctl"

// A layer is a step of the pipeline; a package may import its own layer
// and the layers below it, or, where mayImport is set, only those. The
// order is docs/architecture.md's "Import order": change both together.
type layer struct {
	name      string
	packages  []string // import paths below the module; "x/..." is x and everything under it
	mayImport []string // layer names; nil: this layer and every lower one
}

var layers = []layer{
	{name: "base", packages: []string{
		"internal/archive/...", "internal/artifact", "internal/debfile", "internal/dirs", "internal/fsutil",
		"internal/logging", "internal/soname", "internal/sums", "internal/testenv", "internal/testtool",
		"internal/cmd/...", "internal/importorder", "store/...",
		// The published formats (versions.json): the contract between
		// publish, which writes them, and their readers.
		"publish/index",
	}},
	{name: "platforms", packages: []string{"platforms"}},
	{name: "sources", packages: []string{
		"translator", "translator/builder", "vm/...", "ensurepip",
		// apt access keyed by the matrix's Debian pins (platforms.DebPackage).
		"internal/debrepo",
	}},
	{name: "tree", packages: []string{"assemble/...", "smoke"}},
	{name: "trust", packages: []string{"trust/..."}},
	{name: "packaging", packages: []string{
		"packaging/...", "wheels",
		// A release's -src archive: an output, written with packaging/archive.
		"translator/srcarchive",
	}},
	{name: "pipeline", packages: []string{"pipeline"}},
	{name: "release", packages: []string{"release", "publish", "ci"}},
	// install reads only published outputs: the formats, the checksums,
	// signatures, the archive reader.
	{name: "install", packages: []string{"install/..."}, mayImport: []string{"install", "trust", "base"}},
	{name: "commands", packages: []string{"internal/cli", "cmd/...", "scripts/...", "e2e"}},
}

// knownExceptions are edges that break the order today, each with why it
// is not fixed yet. The test fails on any edge not listed here, and on a
// listed edge that no longer exists (delete it then). None today.
var knownExceptions = map[[2]string]string{}

type pkg struct {
	ImportPath string
	Imports    []string
	Error      *struct{ Err string }
}

func TestImportOrder(t *testing.T) {
	testtool.Need(t, "go")
	cmd := exec.Command("go", "list", "-e", "-json", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	rank := map[string]int{}
	for i, l := range layers {
		rank[l.name] = i
	}
	layerOf := func(path string) (int, bool) {
		for i, l := range layers {
			for _, p := range l.packages {
				dir, tree := strings.CutSuffix(p, "/...")
				if path == dir || (tree && strings.HasPrefix(path, dir+"/")) {
					return i, true
				}
			}
		}
		return 0, false
	}
	allowed := func(from, to int) bool {
		if m := layers[from].mayImport; m != nil {
			return slices.ContainsFunc(m, func(name string) bool { return rank[name] == to })
		}
		return to <= from
	}
	seen := map[[2]string]bool{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		from, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue // the module root, if it ever holds a package
		}
		if p.Error != nil && len(p.Imports) == 0 {
			continue // e2e: every file needs the integration build tag
		}
		fl, ok := layerOf(from)
		if !ok {
			t.Errorf("%s is in no layer: add it to docs/architecture.md's import order and to layers here", from)
			continue
		}
		for _, imp := range p.Imports {
			to, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			tl, ok := layerOf(to)
			if !ok || allowed(fl, tl) {
				continue // a package in no layer is reported as such above
			}
			edge := [2]string{from, to}
			seen[edge] = true
			if _, known := knownExceptions[edge]; known {
				continue
			}
			if m := layers[fl].mayImport; m != nil {
				t.Errorf("%s (%s) imports %s (%s); %s may import only %s (docs/architecture.md)", from, layers[fl].name, to, layers[tl].name, layers[fl].name, strings.Join(m, ", "))
			} else {
				t.Errorf("%s (%s) imports %s (%s), which is above it in the pipeline order (docs/architecture.md)", from, layers[fl].name, to, layers[tl].name)
			}
		}
	}
	for edge, why := range knownExceptions {
		if !seen[edge] {
			t.Errorf("known exception %s → %s (%s) no longer occurs: delete it", edge[0], edge[1], why)
		}
	}
}

// TestImportOrderDocumented: docs/architecture.md shows the same layers.
func TestImportOrderDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := layerTable(); !strings.Contains(string(doc), want) {
		t.Errorf("docs/architecture.md's import order differs from the layers of this test; the table should read:\n%s", want)
	}
}

// layerTable is the Markdown table of the layers, bottom first.
func layerTable() string {
	var b strings.Builder
	b.WriteString("| layer | packages | may import |\n|---|---|---|\n")
	for _, l := range layers {
		may := "itself and the rows before"
		if l.mayImport != nil {
			may = "only " + strings.Join(l.mayImport, ", ")
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", l.name, strings.Join(l.packages, "`, `"), may)
	}
	return b.String()
}
