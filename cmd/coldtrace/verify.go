package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	gojson "github.com/goccy/go-json"

	"coldtrace/cmd/coldtrace/memory/mapped"
	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

type verifyCmd struct {
	dataDir
	blobFlags
	LogOnly bool   `help:"Check the log alone, on every core: every record hashed, every stored hash and signed checkpoint checked, the tree root recomputed; not the records' decoding and canonical encoding (the full verify's replay proves those), the derived state, annexes or attachments."`
	Scratch string `env:"COLDTRACE_SCRATCH" help:"Directory for the derived state the full verify replays (a temporary directory in it, removed at the end; default the system's temporary directory). It needs about the space of the data directory's state."`
}

// The memory of verify does not grow with the ledger: the log check holds
// a chunk of records' hashes per core (ledger/vlog), the stores' caches are
// bounded here, and the replayed state is kept in a store on disk.
const (
	// verifyBlockCache bounds badger's cache of decompressed blocks of the
	// ledger's store: verify reads each block about once, in key order,
	// so the cache (256 MiB by default) only holds what was read.
	verifyBlockCache = 16 << 20
	// scratchMemTable and scratchMemTables bound the replay's memtables
	// (badger's default: 5 of 64 MiB).
	scratchMemTable  = 64 << 20
	scratchMemTables = 2
	// verifyGoLimit is the Go heap's soft limit during verify (unless
	// GOMEMLIMIT says otherwise), so that the collector runs before the
	// heap doubles what is live: 25-35 MB in the log check, 150-600 MB in
	// the replay (the scratch's memtables, its flushes and compactions).
	verifyGoLimit = 384 << 20
	// releaseEvery is how often the resident pages of the ledger's tables
	// that verify read are released from its RSS (package mapped; the
	// page cache keeps them); the scratch's less often, since the replay
	// reads what it wrote shortly before.
	releaseEvery        = 100 * time.Millisecond
	scratchReleaseEvery = time.Second
)

func (c *verifyCmd) Run(ctx context.Context) error {
	key, err := readKey(c.keyPath())
	if err != nil {
		return err
	}
	if _, err := os.Stat(c.dbPath()); err != nil {
		return fmt.Errorf("no ledger in %s: %w", c.Data, err)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(verifyGoLimit)
	}
	// Read-only, so that verify works on a read-only copy and on a full
	// disk; a data directory whose server did not stop cleanly needs its
	// logs replayed, which only a writable open does.
	mem := badgerkv.Memory{BlockCacheSize: verifyBlockCache}
	store, err := badgerkv.Open(c.dbPath(), badgerkv.Options{ReadOnly: true, Memory: mem})
	if err != nil {
		var rwErr error
		if store, rwErr = badgerkv.Open(c.dbPath(), badgerkv.Options{Memory: mem}); rwErr != nil {
			return fmt.Errorf("%w (read-only: %v)", rwErr, err)
		}
	}
	defer store.Close()
	defer runRelease(ctx, mapped.New(0, store), releaseEvery, nil)()
	start := time.Now()
	// Records are decoded by goccy/go-json (the centre may import no JSON
	// library but the standard one) and accepted only when encoding/json
	// re-encodes them to their stored bytes (ledger.VerifyOptions).
	opts := &ledger.VerifyOptions{Progress: newProgress(os.Stderr), Decode: gojson.Unmarshal}
	if c.LogOnly {
		rep, err := ledger.VerifyLog(ctx, store, key.Verifier, opts)
		if err != nil {
			return fmt.Errorf("FAILED: %w", err)
		}
		fmt.Printf("ok: the log of %d records and %d signed checkpoints verified in %s (%.0f records/s); the records' encoding, the derived state, annexes and attachments not checked\n",
			rep.Size, rep.Checkpoints, time.Since(start).Round(time.Millisecond), perSec(rep.Size, rep.LogTime))
		return nil
	}
	scratchDir, err := os.MkdirTemp(c.Scratch, "coldtrace-verify-")
	if err != nil {
		return fmt.Errorf("scratch directory for the replay: %w", err)
	}
	defer os.RemoveAll(scratchDir)
	scratch, err := badgerkv.Open(scratchDir, badgerkv.Options{Scratch: true, Memory: badgerkv.Memory{
		MemTableSize: scratchMemTable, NumMemtables: scratchMemTables, BlockCacheSize: verifyBlockCache}})
	if err != nil {
		return err
	}
	defer scratch.Close()
	defer runRelease(ctx, mapped.New(0, scratch), scratchReleaseEvery, nil)()
	rep, err := ledger.Verify(ctx, store, scratch, key.Verifier, opts)
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	fmt.Printf("ok: %d records, %d signed checkpoints, %d state entries verified in %s\n",
		rep.Size, rep.Checkpoints, rep.StateKeys, time.Since(start).Round(time.Millisecond))
	fmt.Printf("  the log in %s (%.0f records/s), the derived state replayed and compared in %s (%.0f records/s)\n",
		rep.LogTime.Round(time.Millisecond), perSec(rep.Size, rep.LogTime), rep.StateTime.Round(time.Millisecond), perSec(rep.Size, rep.StateTime))
	if err := verifyAnnexes(ctx, store); err != nil {
		return err
	}
	return c.verifyAttachments(ctx, store)
}

// perSec is n per d, 0 for no time.
func perSec(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
