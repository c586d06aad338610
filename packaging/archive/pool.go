package archive

import (
	"context"
	"runtime"
	"sync"
)

// chunk is one fixed split of a compressor's input. Its output depends only
// on in, dict and final, never on which worker ran it or when, which is what
// keeps parallel output identical to a one-worker run.
type chunk struct {
	in    []byte // input bytes of this split
	dict  []byte // preceding input some formats prime their window with
	final bool   // last split of the stream
	out   []byte // compressed bytes, filled by a worker
	crc   uint32 // bzip2: block CRC
	bits  uint64 // bzip2: bit length of out
	meta  any    // the writer's bookkeeping (zip: which member)
	err   error
	ready chan struct{}
}

// chunkPool runs work on up to n goroutines and hands the finished chunks
// to emit in the order they were submitted.
type chunkPool struct {
	ctx   context.Context
	work  func(w *poolWorker, c *chunk) error
	emit  func(c *chunk) error
	jobs  chan *chunk
	order chan *chunk
	wg    sync.WaitGroup
	done  chan struct{}

	mu  sync.Mutex
	err error
}

// poolWorker carries per-goroutine state a format may reuse between
// chunks (a deflate writer, scratch buffers).
type poolWorker struct {
	state any
}

// release frees what the worker's state holds outside Go's heap.
func (w *poolWorker) release() {
	if r, ok := w.state.(interface{ release() }); ok {
		r.release()
	}
}

func workerCount(n int) int {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return n
}

func newChunkPool(ctx context.Context, workers int, work func(*poolWorker, *chunk) error, emit func(*chunk) error) *chunkPool {
	n := workerCount(workers)
	p := &chunkPool{
		ctx:   ctx,
		work:  work,
		emit:  emit,
		jobs:  make(chan *chunk),
		order: make(chan *chunk, 2*n),
		done:  make(chan struct{}),
	}
	for i := 0; i < n; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			w := &poolWorker{}
			defer w.release()
			for c := range p.jobs {
				if err := p.ctx.Err(); err != nil {
					c.err = err
				} else {
					c.err = p.work(w, c)
				}
				close(c.ready)
			}
		}()
	}
	go p.emitLoop()
	return p
}

func (p *chunkPool) emitLoop() {
	defer close(p.done)
	for c := range p.order {
		<-c.ready
		if p.failed() != nil {
			continue // keep draining so submitters never block
		}
		err := c.err
		if err == nil {
			err = p.emit(c)
		}
		if err != nil {
			p.fail(err)
		}
		c.in, c.dict, c.out = nil, nil, nil
	}
}

func (p *chunkPool) fail(err error) {
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

func (p *chunkPool) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// submit queues c; it blocks while 2n chunks are in flight.
func (p *chunkPool) submit(c *chunk) error {
	if err := p.failed(); err != nil {
		return err
	}
	c.ready = make(chan struct{})
	select {
	case p.order <- c:
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
	select {
	case p.jobs <- c:
	case <-p.ctx.Done():
		c.err = p.ctx.Err()
		close(c.ready)
		return p.ctx.Err()
	}
	return nil
}

// finish waits for every submitted chunk and returns the first error.
func (p *chunkPool) finish() error {
	close(p.jobs)
	close(p.order)
	p.wg.Wait()
	<-p.done
	if err := p.failed(); err != nil {
		return err
	}
	return p.ctx.Err()
}
