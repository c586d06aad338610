package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/ci"
	"github.com/pypyctl/pypyctl/platforms"
)

func newMatrixCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "matrix",
		Short: "Validate and inspect the platform matrix",
		Long: `The platform matrix (platforms/matrix.yaml, embedded in pypyctl) declares
every release and target. --matrix FILE or $PYPYCTL_MATRIX uses another
copy. See docs/matrix.md for every key.`,
		Example: "  pypyctl matrix validate --matrix my-matrix.yaml\n  pypyctl matrix list --json",
	}
	c.AddCommand(newMatrixValidateCmd(a), newMatrixListCmd(a), newMatrixCICmd(a))
	return c
}

// matrixPath is the matrix file the user named; empty means embedded.
func matrixPath(a *App) string {
	if a.Matrix != "" {
		return a.Matrix
	}
	return a.Getenv("PYPYCTL_MATRIX")
}

// validateResult is the --json shape of `matrix validate`.
type validateResult struct {
	Valid    bool                `json:"valid"`
	File     string              `json:"file"`
	Releases int                 `json:"releases"`
	Targets  int                 `json:"targets"`
	Problems []platforms.Problem `json:"problems"`
}

func newMatrixValidateCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the matrix; report every problem as file:line:col",
		Long: `Check the matrix against its schema (unknown keys, wrong types) and its
rules (versions, sha256 pins, formats, target references, …). Every
problem is printed as file:line:col: message, one per line; the exit
status is 1 when there is any.`,
		Example: "  pypyctl matrix validate\n  pypyctl matrix validate --matrix platforms/matrix.yaml --json",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			path := matrixPath(a)
			m, probs, err := platforms.ValidateFile(path)
			if err != nil {
				return err
			}
			res := validateResult{Valid: len(probs) == 0, File: path, Problems: probs}
			if res.File == "" {
				res.File = platforms.EmbeddedName
			}
			if m != nil {
				res.Releases, res.Targets = len(m.Releases), len(m.Targets)
			}
			if a.JSON {
				if err := a.Render(res, nil); err != nil {
					return err
				}
			} else {
				// Problems are the result, so they print even with --quiet.
				for _, p := range probs {
					fmt.Fprintln(a.Stdout, p)
				}
				if res.Valid && !a.Quiet {
					fmt.Fprintf(a.Stdout, "ok: %s: %d releases, %d targets\n", res.File, res.Releases, res.Targets)
				}
				if m != nil && !a.Quiet {
					for _, t := range m.Targets {
						if t.NotBuildable != "" {
							fmt.Fprintf(a.Stdout, "note: target %s is not buildable yet (no CI job): %s\n", t.Name, t.NotBuildable)
						}
					}
				}
			}
			if !res.Valid {
				return fmt.Errorf("%s is invalid: %s", res.File, plural(len(probs), "problem"))
			}
			return nil
		},
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// listRelease is one release in `matrix list --json`.
type listRelease struct {
	Name          string       `json:"name"`
	PyPyVersion   string       `json:"pypy_version"`
	PythonVersion string       `json:"python_version"`
	Date          string       `json:"date"`
	Stable        bool         `json:"stable"`
	Latest        bool         `json:"latest"`
	Default       bool         `json:"default"`
	VM            string       `json:"vm"`
	Targets       []listTarget `json:"targets"`
}

type listTarget struct {
	Name     string   `json:"name"`
	Platform string   `json:"platform"`
	OS       string   `json:"os"`
	Arch     string   `json:"arch"`
	Builder  string   `json:"builder"`
	Runner   string   `json:"runner"`
	Formats  []string `json:"formats"`
	Archives []string `json:"archives"`
}

// listMatrix flattens releases × targets with their archive names.
func listMatrix(m *platforms.Matrix) ([]listRelease, error) {
	out := make([]listRelease, 0, len(m.Releases))
	for i := range m.Releases {
		r := &m.Releases[i]
		lr := listRelease{
			Name: r.Name, PyPyVersion: r.PyPyVersion, PythonVersion: r.PythonVersion,
			Date: r.Date, Stable: r.Stable, Latest: r.Latest, VM: r.VM,
			Default: r.Name == m.DefaultRelease, Targets: []listTarget{},
		}
		for _, rt := range r.Targets {
			t, err := m.Target(rt.Name)
			if err != nil {
				return nil, fmt.Errorf("release %s: %w", r.Name, err)
			}
			formats := m.Formats(r, t)
			lt := listTarget{Name: t.Name, Platform: t.Platform, OS: t.OS, Arch: t.Arch,
				Builder: t.Builder, Runner: t.Runner, Formats: formats}
			for _, f := range formats {
				lt.Archives = append(lt.Archives, r.ArchiveName(t, f))
			}
			lr.Targets = append(lr.Targets, lt)
		}
		out = append(out, lr)
	}
	return out, nil
}

func newMatrixListCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List releases × targets",
		Long: `List every release of the matrix with its PyPy and Python versions, how
its VM is obtained, and for each target the archives it ships.`,
		Example: "  pypyctl matrix list\n  pypyctl matrix list --json | jq '.[].name'",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			m, err := a.LoadMatrix()
			if err != nil {
				return err
			}
			rels, err := listMatrix(m)
			if err != nil {
				return err
			}
			return a.Render(rels, func(w io.Writer) { printList(w, rels) })
		},
	}
}

func printList(w io.Writer, rels []listRelease) {
	for i, r := range rels {
		if i > 0 {
			fmt.Fprintln(w)
		}
		var flags []string
		if r.Default {
			flags = append(flags, "default")
		}
		if r.Latest {
			flags = append(flags, "latest")
		}
		if !r.Stable {
			flags = append(flags, "pre-release")
		}
		extra := ""
		if len(flags) > 0 {
			extra = " (" + strings.Join(flags, ", ") + ")"
		}
		fmt.Fprintf(w, "%s%s: PyPy %s, Python %s, vm %s, %s\n", r.Name, extra, r.PyPyVersion, r.PythonVersion, r.VM, r.Date)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, t := range r.Targets {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Name, t.Platform, strings.Join(t.Formats, ","), strings.Join(t.Archives, " "))
		}
		tw.Flush()
	}
}

func newMatrixCICmd(a *App) *cobra.Command {
	var release, format string
	c := &cobra.Command{
		Use:   "ci",
		Short: "Print the CI job matrix for a release",
		Long: `Print the include list a GitHub Actions strategy.matrix needs for one
release: one entry per target with its runner label and whether it builds
under emulation. The JSON is one line, so it can go straight into
$GITHUB_OUTPUT and fromJSON().`,
		Example: `  pypyctl matrix ci --release pypy3.11-v7.3.20 --format github-actions
  echo "matrix=$(pypyctl matrix ci)" >> "$GITHUB_OUTPUT"`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if format != ci.FormatGitHubActions {
				return Usagef("--format %q: the only format is %s", format, ci.FormatGitHubActions)
			}
			m, r, err := a.matrixRelease(release)
			if err != nil {
				return err
			}
			jm, err := ci.Jobs(m, r)
			if err != nil {
				return err
			}
			// Always compact: GitHub's step outputs take one line.
			b, err := json.Marshal(jm)
			if err != nil {
				return fmt.Errorf("encode job matrix: %w", err)
			}
			_, err = fmt.Fprintf(a.Stdout, "%s\n", b)
			return err
		},
	}
	c.Flags().StringVar(&release, "release", "", "release to build (default: the matrix's default_release)")
	c.Flags().StringVar(&format, "format", ci.FormatGitHubActions, "job matrix format: github-actions")
	return c
}
