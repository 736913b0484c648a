package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"coldtrace/api"
	"coldtrace/ledger"
	"coldtrace/storage/badgerkv"
)

type importCmd struct {
	dataDir
	blobFlags
	File  string `arg:"" type:"existingfile" help:"Newline-delimited events, one a line, as the body of POST /v1/events/batch."`
	Key   string `required:"" env:"COLDTRACE_KEY" help:"The API key that records every line, as the caller of POST /v1/events/batch would."`
	Group int    `default:"10000" help:"Lines submitted at once; the write path commits them in groups of up to 1024 records."`
	Name  string `help:"This import's name in the idempotency key of every line without one of its own (import:<name>:<line number>); the file's base name by default. Run again with the same name after a crash: the lines recorded before are replayed, not recorded twice."`
}

// maxImportLine bounds one line of an import file, like a batch line (the
// server's default body limit).
const maxImportLine = 1 << 20

// importTally counts what an import did with its lines.
type importTally struct {
	lines, recorded, replayed, refused int
}

func (c *importCmd) Run(ctx context.Context) error {
	if _, err := os.Stat(c.keyPath()); err != nil {
		return fmt.Errorf("no ledger in %s: %w", c.Data, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	bulkGC()
	o, err := openLedger(c.dataDir, c.blobFlags, "", logger, ledger.Options{SweepEvery: -1}, badgerkv.Options{Bulk: true})
	if err != nil {
		return err
	}
	defer o.Close()
	p, err := o.l.Authenticate(ctx, c.Key)
	if err != nil {
		return err
	}
	f, err := os.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	name := c.Name
	if name == "" {
		name = filepath.Base(c.File)
	}
	if c.Group < 1 {
		c.Group = 1
	}
	prog := newImportProgress(st.Size())
	start := time.Now()
	t, err := importLines(ctx, o.l, p, io.TeeReader(f, prog), name, c.Group, func(line int, err error) {
		prog.clear()
		fmt.Fprintf(os.Stderr, "line %d: %v\n", line, err)
	}, prog.lines)
	prog.finish()
	el := time.Since(start)
	fmt.Printf("imported %s: %d lines, %d recorded, %d replayed (recorded before), %d refused, in %s (%.0f lines/s)\n",
		c.File, t.lines, t.recorded, t.replayed, t.refused, el.Round(time.Millisecond), float64(t.lines)/el.Seconds())
	if err != nil {
		return err
	}
	if t.refused > 0 {
		return fmt.Errorf("%d lines refused (listed above); fix them and import again: the recorded lines are replayed", t.refused)
	}
	return nil
}

// importLines records the lines of r as p, group lines at a time, through
// the path of POST /v1/events/batch. A line without an idempotency key of
// its own gets import:<name>:<line number>, so that an import run again
// after a crash replays what was recorded and records the rest. refused is
// called for each line not recorded, done after each group with the lines
// answered so far.
func importLines(ctx context.Context, l *ledger.Ledger, p ledger.Principal, r io.Reader, name string, group int,
	refused func(line int, err error), done func(lines int)) (importTally, error) {
	var t importTally
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	var batch []ledger.Submission
	var lineNos []int
	// One group is queued while the one before is recorded (QueueBatch),
	// so that the write path does not wait for the file to be read.
	var wait func() []ledger.BatchResult
	var waitLines []int
	collect := func() {
		if wait == nil {
			return
		}
		for i, res := range wait() {
			switch {
			case res.Err != nil:
				t.refused++
				refused(waitLines[i], res.Err)
			case res.Receipt.Replayed:
				t.replayed++
			default:
				t.recorded++
			}
		}
		wait = nil
		done(t.recorded + t.replayed + t.refused) // the lines answered, not those read
	}
	flush := func() {
		next := l.QueueBatch(ctx, batch)
		collect()
		wait, waitLines = next, lineNos
		batch, lineNos = nil, nil
	}
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		t.lines++
		ev, idem, err := api.DecodeBatchLine(line)
		if idem == "" {
			idem = "import:" + name + ":" + strconv.Itoa(n)
		}
		batch = append(batch, ledger.Submission{Principal: p, Event: ev, Err: err, Idem: idem})
		lineNos = append(lineNos, n)
		if len(batch) == group {
			if flush(); l.Healthy() != nil {
				collect()
				return t, l.Healthy()
			}
		}
	}
	if len(batch) > 0 {
		flush()
	}
	collect()
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return t, fmt.Errorf("line %d is longer than %d bytes", n+1, maxImportLine)
		}
		return t, err
	}
	return t, l.Healthy()
}

// importProgress shows a bar of the bytes read when stderr is a terminal,
// and otherwise a line with the lines done and their rate after the first
// group and then at most every second.
type importProgress struct {
	bar   *progressbar.ProgressBar
	start time.Time
	last  time.Time
}

func newImportProgress(size int64) *importProgress {
	p := &importProgress{start: time.Now()}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		p.bar = progressbar.NewOptions64(size, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("import"),
			progressbar.OptionShowBytes(true), progressbar.OptionThrottle(100*time.Millisecond))
	}
	return p
}

func (p *importProgress) Write(b []byte) (int, error) {
	if p.bar != nil {
		_ = p.bar.Add(len(b))
	}
	return len(b), nil
}

func (p *importProgress) lines(n int) {
	if p.bar != nil || time.Since(p.last) < time.Second {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(os.Stderr, "import: %d lines done, %.0f lines/s\n", n, float64(n)/time.Since(p.start).Seconds())
}

func (p *importProgress) clear() {
	if p.bar != nil {
		_ = p.bar.Clear()
	}
}

func (p *importProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
}
