package archive

// Fixed compressor settings. Changing any of them changes archive bytes:
// bump the archive stage version in build/ when you do.
const (
	xzPreset    = 6
	xzBlockSize = 24 << 20 // what `xz -T0 -6` uses (3 × the 8 MiB dictionary)
	xzMaxThread = 16       // each thread holds ~100 MiB at preset 6

	zstdLevel     = 19
	zstdJobSize   = 0 // 0: libzstd's default for the level
	zstdMaxThread = 16
)

func xzThreads(workers int) int   { return min(workerCount(workers), xzMaxThread) }
func zstdThreads(workers int) int { return min(workerCount(workers), zstdMaxThread) }
