package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/install"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/store"
)

// parseAge reads --older-than: Go durations (36h) and days (30d).
func parseAge(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, Usagef("--older-than %q: want days (30d) or a duration (36h)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, Usagef("--older-than %q: want days (30d) or a duration (36h)", s)
	}
	return d, nil
}

type cacheReport struct {
	Downloads     []install.CachedDownload `json:"downloads"`
	DownloadsSize int64                    `json:"downloads_size"`
	Store         []store.Entry            `json:"store"`
	StoreSize     int64                    `json:"store_size"`
	Freed         int64                    `json:"freed,omitempty"`
	DryRun        bool                     `json:"dry_run,omitempty"`
	StoreDir      string                   `json:"store_dir"`
	DownloadsDir  string                   `json:"downloads_dir"`
}

func newCacheCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "cache",
		Short: "Show and prune the cache: downloads and the build store",
		Long: `The cache holds downloaded archives (<cache>/downloads, reused by
reinstalls) and the content-addressed build store (<cache>/store), which
grows with every build. ` + "`cache size`" + ` shows both; ` + "`cache prune`" + ` removes
downloads no installed version came from, unfinished downloads, and store
entries not used for --older-than (default 30d).`,
	}
	size := &cobra.Command{
		Use:     "size",
		Short:   "Show what the cache holds",
		Example: "  pypyctl cache size\n  pypyctl cache size --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := a.cacheReport(nil)
			if err != nil {
				return err
			}
			return a.RenderResult(rep, func(w io.Writer) { renderCache(w, rep, "") })
		},
	}
	var olderThan string
	var all, dryRun bool
	prune := &cobra.Command{
		Use:     "prune",
		Short:   "Remove unused downloads and old store entries",
		Example: "  pypyctl cache prune\n  pypyctl cache prune --older-than 7d --dry-run\n  pypyctl cache prune --all",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			age, err := parseAge(olderThan)
			if err != nil {
				return err
			}
			d, err := a.Dirs()
			if err != nil {
				return err
			}
			cutoff := time.Now().Add(-age)
			if all {
				cutoff = time.Now().Add(time.Hour)
			}
			dl, dlFreed, err := install.PruneDownloads(cmd.Context(), d, install.Layout{Data: d.Data}, all, dryRun)
			if err != nil {
				return err
			}
			st := store.NewLocal(d.Store())
			ents, stFreed, err := st.Prune(cmd.Context(), cutoff, dryRun)
			if err != nil {
				return err
			}
			rep := cacheReport{Downloads: dl, Store: ents, Freed: dlFreed + stFreed, DryRun: dryRun, StoreDir: d.Store(), DownloadsDir: d.Downloads()}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			return a.Render(nonNil(rep), func(w io.Writer) {
				fmt.Fprintf(w, "%s %d downloads and %d store entries, %s\n", verb, len(dl), len(ents), fsutil.HumanSize(rep.Freed))
			})
		},
	}
	prune.Flags().StringVar(&olderThan, "older-than", "30d", "remove store entries not used for this long (30d, 36h)")
	prune.Flags().BoolVar(&all, "all", false, "remove every download and store entry")
	prune.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be removed")
	c.AddCommand(size, prune)
	return c
}

func nonNil(r cacheReport) cacheReport {
	if r.Downloads == nil {
		r.Downloads = []install.CachedDownload{}
	}
	if r.Store == nil {
		r.Store = []store.Entry{}
	}
	return r
}

// cacheReport measures the downloads and a store (nil: the cache's).
func (a *App) cacheReport(st *store.Local) (cacheReport, error) {
	d, err := a.Dirs()
	if err != nil {
		return cacheReport{}, err
	}
	if st == nil {
		st = store.NewLocal(d.Store())
	}
	rep := cacheReport{StoreDir: st.Root, DownloadsDir: d.Downloads()}
	if rep.Downloads, err = install.Downloads(d, install.Layout{Data: d.Data}); err != nil {
		return rep, err
	}
	for _, f := range rep.Downloads {
		rep.DownloadsSize += f.Size
	}
	if rep.Store, err = st.Entries(); err != nil {
		return rep, err
	}
	for _, e := range rep.Store {
		rep.StoreSize += e.Size
	}
	return nonNil(rep), nil
}

func renderCache(w io.Writer, rep cacheReport, only string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if only != "store" {
		fmt.Fprintf(tw, "downloads\t%d files\t%s\t%s\n", len(rep.Downloads), fsutil.HumanSize(rep.DownloadsSize), rep.DownloadsDir)
	}
	fmt.Fprintf(tw, "store\t%d entries\t%s\t%s\n", len(rep.Store), fsutil.HumanSize(rep.StoreSize), rep.StoreDir)
	tw.Flush()
}

func newStoreCmd(a *App) *cobra.Command {
	var storeDir string
	c := &cobra.Command{
		Use:   "store",
		Short: "Show and prune a local build store",
		Long: `The build store keeps every stage's output by key; it grows with every
build. A lookup marks an entry used; ` + "`store prune`" + ` removes entries not used
for --older-than (default 30d) and work dirs of killed builds, each under
its key's lock so a running build keeps what it uses.`,
	}
	c.PersistentFlags().StringVar(&storeDir, "store", "", "store directory (default: <cache>/store)")
	size := &cobra.Command{
		Use:     "size",
		Short:   "Show the store's entries and size",
		Example: "  pypyctl store size\n  pypyctl store size --store /shared/store --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := a.OpenLocalStore(storeDir)
			if err != nil {
				return err
			}
			rep, err := a.cacheReport(st)
			if err != nil {
				return err
			}
			return a.RenderResult(rep, func(w io.Writer) { renderCache(w, rep, "store") })
		},
	}
	var olderThan string
	var dryRun bool
	prune := &cobra.Command{
		Use:     "prune",
		Short:   "Remove store entries not used recently",
		Example: "  pypyctl store prune --older-than 14d",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			age, err := parseAge(olderThan)
			if err != nil {
				return err
			}
			st, _, err := a.OpenLocalStore(storeDir)
			if err != nil {
				return err
			}
			ents, freed, err := st.Prune(cmd.Context(), time.Now().Add(-age), dryRun)
			if err != nil {
				return err
			}
			rep := nonNil(cacheReport{Store: ents, Freed: freed, DryRun: dryRun, StoreDir: st.Root})
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			return a.Render(rep, func(w io.Writer) {
				fmt.Fprintf(w, "%s %d store entries, %s\n", verb, len(ents), fsutil.HumanSize(freed))
			})
		},
	}
	prune.Flags().StringVar(&olderThan, "older-than", "30d", "remove entries not used for this long (30d, 36h)")
	prune.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be removed")
	c.AddCommand(size, prune)
	return c
}
