package cli

import "github.com/spf13/cobra"

func newSignCmd(a *App) *cobra.Command {
	return stub("sign FILE...", "Sign files: .sig and .sigstore.json beside each", "  pypyctl sign dist/SHA256SUMS --key keys/pypyctl.key")
}

func newVerifyCmd(a *App) *cobra.Command {
	return stub("verify FILE...", "Verify checksums, signatures and provenance", "  pypyctl verify dist/*.tar.bz2 --key keys/pypyctl.pub")
}

func newKeysCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "Manage signing keys"}
	c.AddCommand(stub("generate", "Generate a signing key pair", "  pypyctl keys generate --out keys/"))
	return c
}

func newTrustCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "trust", Short: "Manage keys trusted by install"}
	c.AddCommand(stub("add PUB", "Trust a public key for installs", "  pypyctl trust add keys/pypyctl.pub"))
	return c
}
