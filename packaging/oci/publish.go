package oci

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// RefNameAnnotation names an entry of an OCI layout's index.json, the
// TAG of skopeo's and umoci's oci:DIR:TAG.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Push uploads the index (and its images) under tag, then the
// attachments: referrers by digest (go-containerregistry maintains the
// `sha256-<hex>` fallback tag on registries without the referrers API),
// cosign images under their tags.
func Push(ctx context.Context, res *Result, tag name.Tag, atts []Attachment, opts ...remote.Option) error {
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	if err := remote.WriteIndex(tag, res.Index, opts...); err != nil {
		return fmt.Errorf("push %s: %w", tag, err)
	}
	for _, a := range atts {
		var ref name.Reference = tag.Context().Digest(a.Digest.String())
		if a.Tag != "" {
			ref = tag.Context().Tag(a.Tag)
		}
		if err := remote.Write(ref, a.Image, opts...); err != nil {
			return fmt.Errorf("push %s of %s: %w", a.Kind, a.Subject, err)
		}
	}
	return nil
}

// WriteLayout writes the index into an OCI image layout under tag,
// replacing an entry of the same name, with the attachments beside it
// (cosign images named by their tags). A directory that exists must be
// an OCI layout already.
func WriteLayout(dir, tag string, res *Result, atts []Attachment) error {
	p, err := openLayout(dir)
	if err != nil {
		return err
	}
	if err := p.ReplaceIndex(res.Index, refName(tag), layout.WithAnnotations(map[string]string{RefNameAnnotation: tag})); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	for _, a := range atts {
		var err error
		if a.Tag != "" {
			err = p.ReplaceImage(a.Image, refName(a.Tag), layout.WithAnnotations(map[string]string{RefNameAnnotation: a.Tag}))
		} else {
			err = p.ReplaceImage(a.Image, match.Digests(a.Digest))
		}
		if err != nil {
			return fmt.Errorf("write %s of %s into %s: %w", a.Kind, a.Subject, dir, err)
		}
	}
	return nil
}

func refName(tag string) match.Matcher {
	return match.Annotation(RefNameAnnotation, tag)
}

func openLayout(dir string) (layout.Path, error) {
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err == nil {
		p, err := layout.FromPath(dir)
		if err != nil {
			return "", fmt.Errorf("%s: %w", dir, err)
		}
		return p, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("layout dir: %w", err)
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("%s is neither empty nor an OCI layout (no index.json): refusing to write into it", dir)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", fmt.Errorf("create OCI layout %s: %w", dir, err)
	}
	return p, nil
}
