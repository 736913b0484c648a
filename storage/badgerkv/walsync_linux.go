package badgerkv

import (
	"os"
	"syscall"
)

// ownWALSync: on Linux the Store syncs badger's logs itself (walSyncer).
const ownWALSync = true

// datasync writes f's data to disk (fdatasync: as badger's msync of its
// log does, without the file's times).
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
