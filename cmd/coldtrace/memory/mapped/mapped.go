// Package mapped keeps the file-mapped resident pages of the process
// within their part of the memory budget (the budget's wal and level0
// parts, memory.Budget.Mapped). Badger maps its tables (*.sst) from their
// files, so every table page a read touches stays in the process's RSS
// until the kernel needs the memory; a Releaser watches RssFile and, past
// its limit, releases the resident pages of the tables' mappings with
// madvise(MADV_DONTNEED). The data stays in the kernel's page cache and a
// later read faults it back in.
//
// Why it is safe: badger maps every table file MAP_SHARED (ristretto's
// z.Mmap), so its pages are the page cache's pages; MADV_DONTNEED on a
// shared file mapping drops the process's page-table entries and nothing
// else (a dirty page stays dirty in the page cache and is written back).
// Only tables badger holds open while the release runs are released
// (badgerkv's WithTablesOpen): those are complete (a table enters the tree
// after it was written and synced) and cannot be unmapped meanwhile, so the
// address range released is still that table's mapping and never memory
// the range was handed to afterwards. The value log, the memtables'
// write-ahead logs and the program's own file are not touched.
package mapped

import (
	"context"
	"sync/atomic"
	"time"
)

// Tables is what a Releaser needs from the store: fn called with the
// database's directory and the IDs of the tables held open while it runs
// (badgerkv.Store.WithTablesOpen).
type Tables interface {
	WithTablesOpen(fn func(dir string, ids map[uint64]bool) error) error
}

// A Releaser keeps the process's file-mapped resident memory within Limit
// by releasing badger's table pages.
type Releaser struct {
	Limit  int64
	tables Tables

	runs, released atomic.Int64
	floor          atomic.Int64 // RssFile after the last release
}

// New returns a Releaser of the tables' pages past limit bytes of
// file-mapped resident memory.
func New(limit int64, tables Tables) *Releaser { return &Releaser{Limit: limit, tables: tables} }

// Check releases the tables' resident pages when the process's file-mapped
// resident memory is over the limit, and returns the bytes it released
// (the drop of RssFile; 0 when under the limit). When what cannot be
// released (the program's own file, the write-ahead logs) is over the limit
// too, it releases again only once RssFile has grown by an eighth of the
// limit (at least 1 MiB) since the last release, not at every check.
func (r *Releaser) Check() (int64, error) {
	rss, err := RSSFile()
	if err != nil || rss <= r.Limit || rss-r.floor.Load() < max(r.Limit/8, 1<<20) {
		return 0, err
	}
	return r.Release()
}

// Release releases the resident pages of every table held open, whatever
// the limit, and returns the drop of RssFile.
func (r *Releaser) Release() (int64, error) {
	before, err := RSSFile()
	if err != nil {
		return 0, err
	}
	if err := r.tables.WithTablesOpen(releaseTables); err != nil {
		return 0, err
	}
	after, err := RSSFile()
	if err != nil {
		return 0, err
	}
	n := max(before-after, 0)
	r.floor.Store(after)
	r.runs.Add(1)
	r.released.Add(n)
	return n, nil
}

// Run checks every interval until ctx is done; errors are passed to
// onErr (the database closed, /proc unreadable) and the checks go on.
func (r *Releaser) Run(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := r.Check(); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// Stats returns how many releases ran and the bytes they released.
func (r *Releaser) Stats() (runs, released int64) { return r.runs.Load(), r.released.Load() }
