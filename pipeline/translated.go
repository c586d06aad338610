package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/translator"
	"github.com/pypyctl/pypyctl/translator/builder"
	"github.com/pypyctl/pypyctl/vm/portable"
)

// builderImage is the image a VM was translated in.
type builderImage struct {
	Root string    // its root file system
	Key  store.Key // its identity, for the keys of stages run in it
	// Bundle is what the release's own make_portable.py bundles: the
	// portable stage bundles the same from the image.
	Bundle []string
}

// translatedStage gets the VM of a `vm: translate` release: the
// translation itself is the translator's store entry (a hit when
// `pypyctl translate` ran before with the same plan), and the VM stage
// converts it, with the source's lib-python, lib_pypy and include, into
// the layout assemble reads. Without a Python 2.7 host this fails at
// preflight, before anything runs.
func (rep *Report) translated(ctx context.Context, o *Options) (Output, error) {
	// The translator keeps its work in the local store (a registry
	// store's local cache): its key is only known after planning.
	local, ok := store.LocalOf(o.Store)
	if !ok {
		return Output{}, errors.New("translating a VM needs a local store or a registry store with a local cache")
	}
	r, t := o.Release, o.Target
	mach := translator.LocalMachine(os.Getenv)
	sources := &translator.Sources{Store: local, Downloads: o.Dirs.Downloads(), Logger: o.Logger,
		GitMirror: os.Getenv(translator.GitMirrorEnv)}
	workRoot := filepath.Join(o.Dirs.Cache, "work")
	req := translator.Request{Release: r, Target: t, WorkRoot: workRoot, Machine: mach, Sources: sources, SourceDir: o.SourceDir}
	if _, err := req.UseImage(ctx, builder.Config{Getenv: os.Getenv, Cache: o.Dirs.Cache,
		Downloads: o.Dirs.Downloads(), Store: local, Logger: o.Logger}, false); err != nil {
		return Output{}, err
	}
	plan, err := translator.NewPlan(ctx, req)
	if err != nil {
		return Output{}, err
	}
	if !plan.Ready() {
		return Output{}, &translator.PreflightError{Release: plan.Release, Target: plan.Target, Problems: plan.Preflight}
	}
	if _, ok, err := local.Lookup(store.Key(plan.Key)); err == nil && !ok {
		o.log().Info(fmt.Sprintf("translate  %s for %s is not in the store: translating it now with RPython (about an hour on two cores; `pypyctl translate --target %s --release %s` does this step alone, --dry-run shows its plan)",
			r.Name, t.Name, t.Name, r.Name))
	}
	tr, err := translator.Translate(ctx, plan, translator.Options{
		Store: local, Sources: sources, Machine: mach, WorkRoot: workRoot,
		LogDir: filepath.Join(o.Dirs.Cache, "logs"), Logger: o.Logger, ImageRoot: req.ImageRoot,
	})
	if err != nil {
		return Output{}, err
	}
	rep.Stages = append(rep.Stages, StageReport{Name: "translate", Key: tr.Key, Hit: tr.Hit, Seconds: tr.Seconds})
	srcDir, _, err := sources.Fetch(ctx, &plan.Source)
	if err != nil {
		return Output{}, err
	}
	if req.Image != nil {
		// The post-translation stages run in the same image: the cffi
		// modules compile against the headers the VM was built with, and
		// the bundled libraries are the ones it links.
		bundle, err := portable.UpstreamBundle(srcDir)
		if err != nil {
			return Output{}, fmt.Errorf("release %s: %w", r.Name, err)
		}
		rep.builder = &builderImage{Root: req.ImageRoot, Key: store.Key(req.Image.Key), Bundle: bundle}
	}
	return rep.run(ctx, o, &vmTranslateStage{vmFor: vmFor{r, t}, translation: tr, source: srcDir, sourceDigest: plan.Source.Digest})
}

// vmTranslateStage lays a stored translation and its source out as the VM.
type vmTranslateStage struct {
	vmFor
	translation          *translator.Report
	source, sourceDigest string
}

func (s *vmTranslateStage) Key() (store.Key, error) {
	return store.NewKey("vm-translate", translator.VMStageVersion, map[string]any{"translation": s.translation.Key, "source": s.sourceDigest})
}

func (s *vmTranslateStage) Run(ctx context.Context, dir string) error {
	return translator.ToVM(ctx, s.translation, s.source, s.release, s.target, dir)
}
