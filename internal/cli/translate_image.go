package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/translator"
	"github.com/pypyctl/pypyctl/translator/builder"
)

// builderConfig is where builder images come from and go.
func (a *App) builderConfig(lockPath, mirror string, st *store.Local) (builder.Config, error) {
	d, err := a.Dirs()
	if err != nil {
		return builder.Config{}, err
	}
	return builder.Config{LockPath: lockPath, Mirror: mirror, Getenv: a.Getenv, Cache: d.Cache,
		Downloads: d.Downloads(), Store: st, Logger: a.Logger}, nil
}

func newTranslateImageCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "image",
		Short: "Builder images: pin their packages, make and inspect them",
		Long: `Builder images are root file systems made from a pinned set of Debian
packages (the builder lock), without a container engine, kept in the store
under their digest, and run under bubblewrap as a translation's whole file
system (--builder image). The default image, ` + translator.DefaultImage + `, is Debian
bullseye with PyPy 2.7 as RPython's host, gcc 10 and the -dev libraries of
PyPy's cffi modules.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(newTranslateImageLockCmd(a), newTranslateImageBuildCmd(a))
	return c
}

func newTranslateImageLockCmd(a *App) *cobra.Command {
	var lockPath, image, mirror string
	var arches []string
	c := &cobra.Command{
		Use:   "lock --lock FILE [--image NAME] [--arch ARCH]…",
		Short: "Resolve a builder image's packages with apt and pin them in a lock file",
		Long: `Resolve the dependency closure of a builder image's roots for each Debian
architecture with an apt of its own for the image's suite (nothing of the
host's apt changes), and write every package's version and sha256 into the
lock. A missing FILE starts from the lock compiled into pypyctl.`,
		Example: `  pypyctl translate image lock --lock translator/builder/builders.lock.yaml --arch amd64 --arch arm64`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lockPath == "" {
				return Usagef("--lock FILE is required: the lock to write")
			}
			if len(arches) == 0 {
				return Usagef("--arch is required (Debian spelling: amd64, arm64, …)")
			}
			if err := builder.WriteEmbedded(lockPath); err == nil {
				a.Logf("started %s from the embedded lock", lockPath)
			}
			l, err := builder.LoadLock(lockPath)
			if err != nil {
				return err
			}
			cfg, err := a.builderConfig(lockPath, mirror, nil)
			if err != nil {
				return err
			}
			names := []string{image}
			if image == "" {
				names = nil
				for _, s := range l.Images {
					names = append(names, s.Name)
				}
			}
			type row struct {
				Image    string `json:"image"`
				Arch     string `json:"arch"`
				Packages int    `json:"packages"`
				Key      string `json:"key"`
			}
			var rows []row
			for _, n := range names {
				s, err := l.Image(n)
				if err != nil {
					return err
				}
				sa, err := cfg.SuiteApt(s.Suite, arches)
				if err != nil {
					return err
				}
				arch := &builder.LazyArchive{Apt: sa}
				for _, x := range arches {
					a.Logf("resolving %s for %s (%s)", n, x, s.Suite)
					if err := l.Resolve(cmd.Context(), arch, n, x); err != nil {
						return err
					}
					img, err := l.Select(n, x)
					if err != nil {
						return err
					}
					rows = append(rows, row{n, x, len(img.Packages), img.Key})
				}
			}
			if err := l.Save(); err != nil {
				return err
			}
			return a.Render(rows, func(w io.Writer) {
				for _, r := range rows {
					fmt.Fprintf(w, "%s (%s): %d packages, key %s\n", r.Image, r.Arch, r.Packages, store.Key(r.Key).Short())
				}
				fmt.Fprintf(w, "wrote %s\n", lockPath)
			})
		},
	}
	c.Flags().StringVar(&lockPath, "lock", "", "lock file to write (created from the embedded one when missing)")
	c.Flags().StringVar(&image, "image", "", "only this image (default: every image of the lock)")
	c.Flags().StringArrayVar(&arches, "arch", nil, "Debian architecture to resolve (repeatable)")
	c.Flags().StringVar(&mirror, "debian-mirror", "", "Debian mirror (default: $"+builder.MirrorEnv+", else the host's apt sources)")
	return c
}

func newTranslateImageBuildCmd(a *App) *cobra.Command {
	var lockPath, image, arch, mirror, storeDir string
	c := &cobra.Command{
		Use:   "build [--image NAME] [--arch ARCH]",
		Short: "Make a builder image in the store (or find it there) and print its root",
		Example: `  pypyctl translate image build --arch amd64
  bwrap --ro-bind "$(pypyctl translate image build -q)" / --proc /proc --dev /dev --unshare-all pypy --version`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, _, err := a.OpenLocalStore(storeDir)
			if err != nil {
				return err
			}
			cfg, err := a.builderConfig(lockPath, mirror, st)
			if err != nil {
				return err
			}
			img, env, err := builder.Open(image, arch, cfg)
			if err != nil {
				return err
			}
			root, hit, err := img.Ensure(cmd.Context(), env)
			if err != nil {
				return err
			}
			res := struct {
				Image    string `json:"image"`
				Arch     string `json:"arch"`
				Key      string `json:"key"`
				Root     string `json:"root"`
				Hit      bool   `json:"hit"`
				Packages int    `json:"packages"`
			}{img.Name, img.Arch, img.Key, root, hit, len(img.Packages)}
			if a.Quiet && !a.JSON {
				fmt.Fprintln(a.Stdout, root)
				return nil
			}
			return a.Render(res, func(w io.Writer) {
				fmt.Fprintf(w, "builder image %s (%s): %d packages, key %s\n  root %s\n", img.Name, img.Arch, len(img.Packages), img.Short(), root)
			})
		},
	}
	c.Flags().StringVar(&lockPath, "builder-lock", "", "builder-image lock file (default: the one compiled in)")
	c.Flags().StringVar(&image, "image", translator.DefaultImage, "image to make")
	c.Flags().StringVar(&arch, "arch", "amd64", "Debian architecture")
	c.Flags().StringVar(&mirror, "debian-mirror", "", "Debian mirror (default: $"+builder.MirrorEnv+", else the host's apt sources)")
	c.Flags().StringVar(&storeDir, "store", "", "content-addressed store (default: the cache dir's store/)")
	return c
}

func firstNonEmptyStr(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
