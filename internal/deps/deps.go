// Package deps pins modules that packages of this repository are about to
// use, so that `go mod tidy` keeps them while the code that imports them is
// being written. Delete an import here once real code imports the module.
package deps

import (
	_ "github.com/CycloneDX/cyclonedx-go"
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/dsnet/compress/bzip2"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	_ "github.com/sigstore/sigstore/pkg/signature"
	_ "github.com/spf13/cobra"
	_ "github.com/ulikunitz/xz"
	_ "golang.org/x/mod/semver"
	_ "gopkg.in/yaml.v3"
)
