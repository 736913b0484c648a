package badgerkv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4/skl"
)

// A walSyncer (on Linux, see ownWALSync) makes what the Store committed
// durable by syncing badger's write-ahead logs (its NNNNN.mem files, one
// per memtable) through files of its own, in place of badger's DB.Sync. DB.Sync holds the database's
// lock while it syncs the newest log, and every commit takes that lock to
// check for room, so no commit could be written while a sync ran: the
// ledger's groups were a commit and a sync in turn. A sync of the same
// file through another descriptor writes the same pages (the log is a
// shared mapping, whose written pages are dirty in the page cache), and
// holds no lock of badger's, so the next group commits meanwhile.
//
// It syncs every log that may hold a commit: a commit is in the newest
// log of its time, which stays on disk until its memtable is in a synced
// level-0 table. So it keeps the logs it knows open and, before a sync,
// opens those made since the last one. Badger numbers them in order and
// deletes one only after it filled and its memtable reached a table;
// entrySize bounds what a write takes of a memtable, and a transaction is
// less than a third of one (badger refuses bigger ones). So while less
// than a quarter of a memtable was written since the last sync, no log
// was both made and deleted since, and the new ones are the numbers after
// the highest known, up to the first missing; otherwise (and after
// DropPrefix, which makes a memtable of its own) it reads the directory.
// A log that badger deleted is closed here.
//
// A commit that wrote a value to the value log (a value of at least
// badger's ValueThreshold, 1 MiB by default, which the ledger's values
// never reach) makes the next sync badger's own DB.Sync as well.
type walSyncer struct {
	dir          string
	memTableSize int64
	valueMin     int64 // badger's ValueThreshold

	mu    sync.Mutex
	files map[int]*os.File // open logs by number
	top   int              // the highest number seen
	fresh bool             // a log was opened since the directory was last synced

	written  atomic.Int64 // an upper bound of the memtable bytes committed since the last look
	relist   atomic.Bool  // read the directory at the next sync
	valueLog atomic.Bool  // a value went to the value log since the last sync
}

// entrySize bounds what one write takes in a memtable (its skip list node,
// the key with its timestamp, the value and its header) and in the log.
func entrySize(k, v []byte) int64 { return int64(len(k) + len(v) + skl.MaxNodeSize + 32) }

func newWALSyncer(dir string, memTableSize, valueMin int64) (*walSyncer, error) {
	w := &walSyncer{dir: dir, memTableSize: memTableSize, valueMin: valueMin, files: map[int]*os.File{}, top: -1}
	if err := w.list(); err != nil {
		return nil, err
	}
	return w, nil
}

// committed records a commit of these writes.
func (w *walSyncer) committed(writes []pendingWrite) {
	n, big := int64(skl.MaxNodeSize+64), false // and badger's end-of-transaction entry
	for _, e := range writes {
		n += entrySize(e.k, e.v)
		big = big || int64(len(e.v)) >= w.valueMin
	}
	w.written.Add(n)
	if big {
		w.valueLog.Store(true)
	}
}

// sync makes every commit that finished before it was called durable;
// dbSync is badger's DB.Sync, for the value log.
func (w *walSyncer) sync(dbSync func() error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.written.Swap(0) >= w.memTableSize/4 || w.relist.Swap(false) {
		if err := w.list(); err != nil {
			return err
		}
	} else if err := w.probe(); err != nil {
		return err
	}
	if w.fresh {
		// A new log's name must survive a crash as well as its pages;
		// badger does not sync the directory when it makes one.
		if err := syncDir(w.dir); err != nil {
			return err
		}
		w.fresh = false
	}
	for n, f := range w.files {
		if err := datasync(f); err != nil {
			return fmt.Errorf("sync %s: %w", f.Name(), err)
		}
		if n != w.top && deleted(f) {
			f.Close()
			delete(w.files, n)
		}
	}
	if w.valueLog.Swap(false) {
		return dbSync()
	}
	return nil
}

// probe opens the logs numbered after the highest one known.
func (w *walSyncer) probe() error {
	for {
		f, err := os.OpenFile(w.path(w.top+1), os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		w.top++
		w.files[w.top] = f
		w.fresh = true
	}
}

// list opens every log in the directory that is not open yet.
func (w *walSyncer) list() error {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return err
	}
	found := false
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".mem")
		n, err := strconv.Atoi(name)
		if !ok || err != nil {
			continue
		}
		found = true
		w.top = max(w.top, n)
		if w.files[n] != nil {
			continue
		}
		f, err := os.OpenFile(filepath.Join(w.dir, e.Name()), os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue // its memtable reached a table meanwhile
		}
		if err != nil {
			return err
		}
		w.files[n] = f
		w.fresh = true
	}
	if !found {
		return fmt.Errorf("no write-ahead log (*.mem) in %s to sync", w.dir)
	}
	return nil
}

// syncDir makes the directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func (w *walSyncer) path(n int) string { return filepath.Join(w.dir, fmt.Sprintf("%05d.mem", n)) }

func (w *walSyncer) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for n, f := range w.files {
		f.Close()
		delete(w.files, n)
	}
}

// deleted reports whether f's file left the directory: badger deletes a
// log once its memtable is in a table, and never reuses its name.
func deleted(f *os.File) bool {
	_, err := os.Stat(f.Name())
	return errors.Is(err, fs.ErrNotExist)
}
