package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"coldtrace/fixtures"
	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

type seedCmd struct {
	dataDir
	blobFlags
	Lots     int    `help:"Generate this many root lots (import batches) instead of the demo data set."`
	Seed     uint64 `default:"1" help:"Seed of the generator: the same seed and size give the same ledger shape."`
	AdminKey string `env:"COLDTRACE_ADMIN_KEY" help:"An admin key of a ledger that is not empty (an empty one gets a new admin key, printed)."`
	Origin   string `default:"coldtrace.local/ledger" env:"COLDTRACE_ORIGIN" help:"Log origin, used only when the signing key is created."`
}

func (c *seedCmd) Run(ctx context.Context) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bulkGC()
	o, err := openLedger(c.dataDir, c.blobFlags, c.Origin, logger, ledger.Options{SweepEvery: -1}, badgerkv.Options{Bulk: true})
	if err != nil {
		return err
	}
	defer o.Close()
	var admin ledger.Principal
	switch {
	case o.l.Size() == 0:
		if admin, err = bootstrap(ctx, o.l, c.AdminKey); err != nil {
			return err
		}
	case c.AdminKey == "":
		return fmt.Errorf("the ledger in %s is not empty: give --admin-key (or COLDTRACE_ADMIN_KEY)", c.Data)
	default:
		if admin, err = o.l.Authenticate(ctx, c.AdminKey); err != nil {
			return err
		}
		if admin.Role != ledger.RoleAdmin {
			return fmt.Errorf("--admin-key is a %s key, not an admin key", admin.Role)
		}
	}
	start := time.Now()
	if c.Lots == 0 {
		if err := loadDemo(ctx, o.l, admin, c.demoKeysPath()); err != nil {
			return err
		}
		fmt.Printf("demo data set recorded: %d records in %s; keys in %s\n", o.l.Size(), time.Since(start).Round(time.Millisecond), c.demoKeysPath())
		return nil
	}
	var bar *progressbar.ProgressBar
	if term.IsTerminal(int(os.Stderr.Fd())) {
		bar = progressbar.NewOptions(c.Lots, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("root lots"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	g, err := fixtures.Generate(ctx, o.l, admin, fixtures.Options{Lots: c.Lots, Seed: c.Seed, Progress: func(done, _ int) {
		if bar != nil {
			_ = bar.Set(done)
		}
	}})
	if err != nil {
		return err
	}
	if bar != nil {
		_ = bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
	el := time.Since(start)
	fmt.Printf("generated %d root lots: %d records in %s (%.0f records/s)\n", len(g.Roots), g.Records, el.Round(time.Millisecond), float64(g.Records)/el.Seconds())
	return nil
}

// bulkGC lets the garbage collector run less often during a bulk load
// (seed, import): GOGC 400 under a soft limit of bulkHeapLimit for the Go
// heap, unless GOGC or GOMEMLIMIT says otherwise. The collector's marking
// was a tenth of a bulk load's CPU at the default GOGC of 100
// (docs/decisions.md, issue 17, the write path at scale).
func bulkGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(bulkHeapLimit)
	}
}

// bulkHeapLimit is the soft limit of the Go heap during a bulk load.
const bulkHeapLimit = 2 << 30

// loadDemo records the demo data set and writes its keys to path (mode
// 0600), one line per actor.
func loadDemo(ctx context.Context, l *ledger.Ledger, admin ledger.Principal, path string) error {
	d, err := fixtures.LoadDemo(ctx, l, admin)
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
	for _, a := range d.Actors {
		regions := ""
		if len(a.Principal.Regions) > 0 {
			regions = "regions " + strings.Join(a.Principal.Regions, ",")
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.Name, a.Principal.Role, a.Secret, regions)
	}
	tw.Flush()
	fmt.Fprintf(&b, "  stories: clean %s  positive %s  violation %s  (containers %s, %s, %s)\n",
		d.Happy, d.Positive, d.Violation, d.Containers["happy"], d.Containers["positive"], d.Containers["violation"])
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
