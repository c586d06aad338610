package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/trust"
	"github.com/pypyctl/pypyctl/trust/keys"
)

func newSignCmd(a *App) *cobra.Command {
	var keyPath string
	c := &cobra.Command{
		Use:   "sign FILE...",
		Short: "Sign files: .sig and .sigstore.json beside each",
		Long: `Sign each FILE with an ECDSA P-256 key, as cosign sign-blob does: FILE.sig
holds the base64 signature over the file's SHA-256 and FILE.sigstore.json a
Sigstore bundle (v0.3, public-key material, no transparency log). FILE is
never changed. Signatures are deterministic: signing again gives the same
bytes. An encrypted key is opened with $` + keys.PasswordEnv + `.`,
		Example: "  pypyctl sign dist/SHA256SUMS dist/*.tar.bz2 --key keys/pypyctl.key",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyPath == "" {
				return Usagef("--key is required")
			}
			s, err := keys.LoadSigner(keyPath, []byte(a.Getenv(keys.PasswordEnv)))
			if err != nil {
				return err
			}
			res, err := trust.SignFiles(cmd.Context(), s, args)
			if err != nil {
				return err
			}
			return a.Render(map[string]any{"key_id": s.KeyID(), "signed": res}, func(w io.Writer) {
				for _, r := range res {
					fmt.Fprintf(w, "signed %s → %s, %s\n", r.File, r.Signature, r.Bundle)
				}
			})
		},
	}
	c.Flags().StringVar(&keyPath, "key", "", "private key (PEM: PKCS#8, EC, or cosign's encrypted format)")
	return c
}

func newVerifyCmd(a *App) *cobra.Command {
	var keyPath, sums string
	c := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Verify checksums, signatures and provenance",
		Long: `Verify each FILE against the public key: FILE.sig and/or
FILE.sigstore.json (alone, as cosign verify-blob, when no SHA256SUMS is
beside FILE); its sha256 against SHA256SUMS beside it or --sums, whose own
signature must verify; and, when *.intoto.jsonl provenance sits beside it,
that a verified provenance statement names FILE with that digest.
Exits 1 naming the file and the first check that failed.`,
		Example: "  pypyctl verify dist/*.tar.bz2 --key keys/pypyctl.pub",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyPath == "" {
				return Usagef("--key is required")
			}
			pub, err := keys.LoadPublic(keyPath)
			if err != nil {
				return err
			}
			rep, err := trust.Verify(cmd.Context(), args, trust.VerifyOptions{Key: pub, Sums: sums})
			if err != nil {
				return err
			}
			if err := a.Render(rep, func(w io.Writer) { renderVerify(w, rep) }); err != nil {
				return err
			}
			return rep.Err()
		},
	}
	c.Flags().StringVar(&keyPath, "key", "", "public key (PKIX PEM)")
	c.Flags().StringVar(&sums, "sums", "", "SHA256SUMS to check against (default: the one beside each file)")
	return c
}

func renderVerify(w io.Writer, rep *trust.Report) {
	for _, f := range rep.Files {
		switch {
		case f.Skipped != "":
			fmt.Fprintf(w, "skip %s (%s)\n", f.File, f.Skipped)
		case f.OK:
			var names []string
			for _, c := range f.Checks {
				if len(names) == 0 || names[len(names)-1] != c.Name {
					names = append(names, c.Name)
				}
			}
			fmt.Fprintf(w, "ok   %s (%s)\n", f.File, strings.Join(names, ", "))
		default:
			for _, c := range f.Checks {
				if !c.OK {
					fmt.Fprintf(w, "FAIL %s: %s: %s\n", f.File, c.Name, c.Message)
				}
			}
		}
	}
}

func newKeysCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage signing keys"}
	var out string
	var force, openpgp bool
	var pgp aptKeyFlags
	gen := &cobra.Command{
		Use:   "generate --out DIR [--openpgp]",
		Short: "Generate a signing key pair",
		Long: `Generate an ECDSA P-256 key pair: DIR/` + keys.PrivateKeyFile + ` (mode 0600) and DIR/` + keys.PublicKeyFile + `
(PKIX PEM). With $` + keys.PasswordEnv + ` set, the private key is encrypted in cosign's
format (ENCRYPTED SIGSTORE PRIVATE KEY), so cosign can use it too; else it
is an unencrypted PKCS#8 PEM. These sign archives, SBOMs, provenance and
OCI images.

With --openpgp, generate instead the OpenPGP key that signs apt
repositories (Ed25519 by default): DIR/<base>.key (private, mode 0600;
encrypted with $` + keys.PasswordEnv + ` when set), DIR/<base>.asc (armored public key)
and DIR/<base>.gpg (binary public key, what apt's signed-by= reads).`,
		Example: `  PYPYCTL_KEY_PASSWORD=… pypyctl keys generate --out keys/
  pypyctl keys generate --openpgp --out keys/ --email release@example.org`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if openpgp {
				pgp.out = out
				return writeOpenPGPKey(a, &pgp)
			}
			if out == "" {
				return Usagef("--out is required")
			}
			p, err := keys.WriteNew(out, []byte(a.Getenv(keys.PasswordEnv)), force)
			if err != nil {
				return err
			}
			return a.Render(p, func(w io.Writer) {
				enc := "unencrypted"
				if p.Encrypted {
					enc = "encrypted"
				}
				fmt.Fprintf(w, "wrote %s (%s) and %s\nkey id %s\n", p.Private, enc, p.Public, p.KeyID)
			})
		},
	}
	gen.Flags().StringVar(&out, "out", "", "directory for "+keys.PrivateKeyFile+" and "+keys.PublicKeyFile)
	gen.Flags().BoolVar(&force, "force", false, "replace existing key files")
	gen.Flags().BoolVar(&openpgp, "openpgp", false, "generate the OpenPGP key that signs apt repositories instead")
	pgp.register(gen)
	c.AddCommand(gen)
	return c
}

func newTrustCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "trust", Short: "Manage keys trusted by install"}
	c.AddCommand(newTrustAddCmd(a), newTrustListCmd(a), newTrustRemoveCmd(a))
	return c
}
