package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/release"
	"github.com/pypyctl/pypyctl/wheels"
)

func newWheelsCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "wheels",
		Short: "Build, check and repair cffi wheels for PyPy",
		Long: `Extension wheels for the PyPy this project builds: build them with the
assembled tree's own interpreter, check their tags, RECORD and manylinux
policy the way auditwheel does, and repair them by vendoring the libraries
the policies do not allow.`,
	}
	c.AddCommand(newWheelsBuildCmd(a), newWheelsCheckCmd(a), newWheelsRepairCmd(a))
	return c
}

func newWheelsBuildCmd(a *App) *cobra.Command {
	var rel, target, out, storeDir string
	c := &cobra.Command{
		Use:   "build SRC",
		Short: "Build a wheel with the built PyPy",
		Long: `Build SRC (a source directory or a .tar.gz sdist) into a wheel with the
release's assembled PyPy for --target (from the store; built if missing):
a throwaway venv made offline with the tree's pinned ensurepip wheels, then
pip wheel --no-deps --no-build-isolation --no-index, with SOURCE_DATE_EPOCH
from the release. The wheel is rewritten reproducibly (sorted members,
fixed times), so two builds give identical bytes. A foreign --target
(linux-arm64 on amd64) runs its PyPy under qemu-user and compiles with
Debian's cross gcc (gcc-aarch64-linux-gnu, plus -dev:arm64 libraries).
Follow with ` + "`pypyctl wheels repair`" + ` for a manylinux wheel.`,
		Example: `  pypyctl wheels build ./myproject --release pypy3.9-v7.3.11
  pypyctl wheels build ./myproject --target linux-arm64
  pypyctl wheels build dist/myproject-1.0.tar.gz --out wheelhouse/ --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, r, t, err := a.releaseTarget(rel, target)
			if err != nil {
				return err
			}
			st, d, outDir, err := a.openStoreOut(storeDir, out)
			if err != nil {
				return err
			}
			src, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			p := a.progress()
			res, err := release.Wheel(cmd.Context(), release.WheelOptions{
				Trees: release.Trees{Matrix: m, Store: st, Dirs: d,
					Logger: a.Logger, Progress: p.update},
				Release: r, Target: t, Src: src, OutDir: outDir,
			})
			p.clear()
			if err != nil {
				return err
			}
			return a.Render(res, func(w io.Writer) {
				fmt.Fprintf(w, "%s (EXT_SUFFIX %s)\n", res.Wheel, res.ExtSuffix)
			})
		},
	}
	c.Flags().StringVar(&rel, "release", "", "release name from the matrix (default: the latest)")
	c.Flags().StringVar(&target, "target", "linux-amd64", "target whose tree builds the wheel")
	c.Flags().StringVar(&out, "out", "dist", "directory for the wheel")
	c.Flags().StringVar(&storeDir, "store", "", "store directory (default: the cache's store)")
	return c
}

func newWheelsCheckCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "check WHEEL...",
		Short: "Check tags, RECORD and manylinux policy",
		Long: `Check each wheel: the PyPy tags (ppXY-pypyXY_pp73-<platform>) agree with
each other, with the WHEEL file and with the extension modules' EXT_SUFFIX;
every member matches RECORD's hash and size; for Linux wheels every ELF's
machine is the platform tag's arch, and a manylinux tag's policy holds
(NEEDED libraries in its allowed list, GLIBC_/GLIBCXX_/CXXABI_/GCC_ symbol
versions at most its own). It also reports the most compatible manylinux
tag the wheel qualifies for as it is. Exit status 1 if any check fails.`,
		Example: `  pypyctl wheels check dist/*.whl
  pypyctl wheels check dist/*.whl --json | jq '.[].manylinux'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var reps []*wheels.Report
			bad := 0
			for _, w := range args {
				rep, err := wheels.Check(w)
				if err != nil {
					return err
				}
				if !rep.OK() {
					bad++
				}
				reps = append(reps, rep)
			}
			if err := a.Render(reps, func(w io.Writer) {
				for _, r := range reps {
					status := "ok"
					if !r.OK() {
						status = "FAILED"
					}
					fmt.Fprintf(w, "%s: %s\n", r.Wheel, status)
					if r.Manylinux != "" {
						fmt.Fprintf(w, "  eligible for %s\n", r.Manylinux)
					} else if len(r.External) > 0 {
						fmt.Fprintf(w, "  no manylinux policy: needs %v (run `pypyctl wheels repair`)\n", r.External)
					}
					for _, p := range r.Problems {
						fmt.Fprintf(w, "  - %s\n", p)
					}
				}
			}); err != nil {
				return err
			}
			if bad > 0 {
				return fmt.Errorf("%d of %d wheels failed the check", bad, len(reps))
			}
			return nil
		},
	}
}

func newWheelsRepairCmd(a *App) *cobra.Command {
	var out string
	var libDirs []string
	c := &cobra.Command{
		Use:   "repair WHEEL",
		Short: "Vendor libraries and retag to manylinux",
		Long: `Copy the libraries the wheel's ELF files need outside the manylinux
policies into <distribution>.libs/ under hashed sonames, rewrite NEEDED and
RUNPATH (with patchelf) to use them, retag the wheel to the most compatible
manylinux tag it then satisfies and rewrite RECORD. The zip is
reproducible: sorted members, times from SOURCE_DATE_EPOCH.`,
		Example: `  pypyctl wheels repair dist/foo-1.0-pp39-pypy39_pp73-linux_x86_64.whl --out wheelhouse/
  SOURCE_DATE_EPOCH=1673395200 pypyctl wheels repair foo.whl --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var epoch int64
			if s := a.Getenv("SOURCE_DATE_EPOCH"); s != "" {
				var err error
				if epoch, err = strconv.ParseInt(s, 10, 64); err != nil {
					return Usagef("SOURCE_DATE_EPOCH=%q: want seconds since 1970", s)
				}
			}
			dir, err := filepath.Abs(out)
			if err != nil {
				return err
			}
			res, err := wheels.Repair(cmd.Context(), args[0], wheels.RepairOptions{OutDir: dir, Epoch: epoch, LibDirs: libDirs})
			if err != nil {
				return err
			}
			return a.Render(res, func(w io.Writer) {
				fmt.Fprintf(w, "%s\n", res.Wheel)
				for n, m := range res.Vendored {
					fmt.Fprintf(w, "  vendored %s as %s\n", n, m)
				}
			})
		},
	}
	c.Flags().StringVar(&out, "out", "wheelhouse", "directory for the repaired wheel")
	c.Flags().StringSliceVar(&libDirs, "lib-dir", nil, "directories searched first for libraries to vendor")
	return c
}
