package translator

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/translator/builder"
)

// IsImageBuilder says whether a builder value names a builder image.
func IsImageBuilder(b string) bool {
	return b == BuilderImage || strings.HasPrefix(b, BuilderImage+":")
}

// ImageName is the image a builder value names ("image" alone: the
// default image).
func ImageName(b string) string {
	if n, ok := strings.CutPrefix(b, BuilderImage+":"); ok && n != "" {
		return n
	}
	return DefaultImage
}

// UseImage prepares a request whose builder (req.Builder, else the
// target's) is a builder image: it selects the image's pins for the
// target's Debian architecture and, unless lookOnly, makes the image in
// cfg.Store when it is not there yet. With lookOnly (a dry run) an image
// already made is used for the host probe and nothing is made. A request
// for another builder is left as it is.
func (req *Request) UseImage(ctx context.Context, cfg builder.Config, lookOnly bool) (made bool, err error) {
	b := firstNonEmpty(req.Builder, req.Target.Builder)
	if !IsImageBuilder(b) {
		return false, nil
	}
	img, opts, err := builder.Open(ImageName(b), req.Target.DebianArch, cfg)
	if err != nil {
		return false, err
	}
	req.Builder, req.Image = b, img
	if lookOnly {
		if dir, ok, err := cfg.Store.Lookup(store.Key(img.Key)); err == nil && ok {
			req.ImageRoot = filepath.Join(dir, "rootfs")
		}
		return false, nil
	}
	root, hit, err := img.Ensure(ctx, opts)
	if err != nil {
		return false, err
	}
	req.ImageRoot = root
	return !hit, nil
}
