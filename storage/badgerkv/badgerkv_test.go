package badgerkv_test

import (
	"testing"

	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
	"coldtrace/storage/storagetest"
)

func TestStoreOnDisk(t *testing.T) {
	dirs := map[ledger.Store]string{}
	open := func(t *testing.T, dir string) ledger.Store {
		s, err := badgerkv.Open(dir, badgerkv.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		dirs[s] = dir
		return s
	}
	storagetest.TestStore(t, storagetest.StoreOpener{
		Open: func(t *testing.T) ledger.Store { return open(t, t.TempDir()) },
		Reopen: func(t *testing.T, s ledger.Store) ledger.Store {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, dirs[s])
		},
	})
}

func TestStoreInMemory(t *testing.T) {
	storagetest.TestStore(t, storagetest.StoreOpener{
		Open: func(t *testing.T) ledger.Store {
			s, err := badgerkv.Open("", badgerkv.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	})
}
