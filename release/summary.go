package release

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// WriteSummary prints the per-target table: outputs, their total size,
// store hits and time.
func WriteSummary(w io.Writer, rep *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tTARGET\tOUTPUTS\tSIZE\tSTORE HITS\tTIME")
	for _, t := range rep.Targets {
		var kinds []artifact.Kind
		seen := map[artifact.Kind]int{}
		for _, f := range t.Files {
			if seen[f.Kind] == 0 {
				kinds = append(kinds, f.Kind)
			}
			seen[f.Kind]++
		}
		slices.Sort(kinds)
		var outs []string
		for _, k := range kinds {
			outs = append(outs, fmt.Sprintf("%d %s", seen[k], k))
		}
		hits := "record"
		if !t.RecordHit {
			hits = fmt.Sprintf("%d/%d stages", t.StoreHits(), len(t.Stages))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Release, t.Target, strings.Join(outs, ", "), fsutil.HumanSize(t.Size), hits, fmt.Sprintf("%.1fs", t.Seconds))
	}
	tw.Flush()
	if rep.Published != nil {
		fmt.Fprintf(w, "published to %s (%s)\n", rep.Published.Dest, rep.Published.VersionsJSON)
	}
	for _, a := range rep.Aliases {
		fmt.Fprintf(w, "alias %s\n", a)
	}
	for _, p := range rep.Pruned {
		fmt.Fprintf(w, "pruned %s\n", p)
	}
	if x := rep.Outputs; x != nil {
		for _, f := range x.Formulas {
			fmt.Fprintf(w, "formula %s\n", f)
		}
		if x.Apt != nil {
			fmt.Fprintf(w, "apt repository %s, suite %s: %s\n", x.Apt.Repo, x.Apt.Suite, strings.Join(x.Debs, ", "))
		}
	}
}
