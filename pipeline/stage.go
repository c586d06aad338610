package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/pypyctl/pypyctl/store"
)

// A Stage is one store-backed step of a build: the VM imports, the
// post-translation steps, ensurepip, assemble, smoke and each archive.
// Its key is a function of its inputs alone (the stage's name and
// version, the keys of the stages it reads, its options), so equal inputs
// find the stored output and nothing runs; on a miss Run writes the
// output into an empty directory that the store renames into place.
// Adding a step or an output is adding one Stage.
type Stage interface {
	// Name is the stage as the report and the log show it: vm, cffi,
	// assemble, archive:tar.bz2, …
	Name() string
	// Key is the store key of the stage's output.
	Key() (store.Key, error)
	// Run builds the output into dir.
	Run(ctx context.Context, dir string) error
}

// Output is a stage's entry in the store; the stages after it read Dir
// and put Key in their own keys, so keys chain down the pipeline.
type Output struct {
	Dir string
	Key store.Key
}

// run ensures s's output in the store and records the stage in the
// report.
func (rep *Report) run(ctx context.Context, o *Options, s Stage) (Output, error) {
	start := time.Now()
	name := s.Name()
	key, err := s.Key()
	if err != nil {
		return Output{}, fmt.Errorf("%s: key: %w", name, err)
	}
	res, err := o.Store.Ensure(ctx, key, func(ctx context.Context, dir string) error {
		o.log().Info(fmt.Sprintf("%-10s building", name), "key", key.Short())
		return s.Run(ctx, dir)
	})
	if err != nil {
		return Output{}, fmt.Errorf("%s: %w", name, err)
	}
	if res.Hit {
		o.log().Info(fmt.Sprintf("%-10s store hit", name), "key", key.Short())
	}
	rep.Stages = append(rep.Stages, StageReport{Name: name, Key: string(key), Hit: res.Hit, Seconds: time.Since(start).Seconds()})
	return Output{Dir: res.Dir, Key: key}, nil
}
