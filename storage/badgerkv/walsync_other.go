//go:build !linux

package badgerkv

import "os"

// ownWALSync: elsewhere the Store calls badger's DB.Sync (a log of
// badger's may be open here and deleted by badger, which not every system
// allows).
const ownWALSync = false

func datasync(f *os.File) error { return f.Sync() }
