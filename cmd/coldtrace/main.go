// Command coldtrace runs the coldtrace ledger: it serves the REST API, checks
// a data directory offline and prints the log's verifier key. It is the only
// package that knows every other one; it does the wiring.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"coldtrace/api"
	"coldtrace/cmd/coldtrace/memory"
	"coldtrace/ledger"
	"coldtrace/ledger/fault"
	"coldtrace/storage/badgerkv"
)

// version is stamped by the Makefile with -ldflags.
var version = "dev"

type cli struct {
	Serve   serveCmd         `cmd:"" help:"Serve the ledger's REST API."`
	Verify  verifyCmd        `cmd:"" help:"Check a stopped server's data directory: every record, hash, checkpoint, derived state and attachment."`
	Keys    keysCmd          `cmd:"" help:"Print the log's checkpoint verifier key."`
	Seed    seedCmd          `cmd:"" help:"Record the demo data set, or a generated ledger of --lots root lots, into a data directory (the server must be stopped)."`
	Import  importCmd        `cmd:"" help:"Record newline-delimited events from a file as POST /v1/events/batch does, in groups, resumable after a crash (the server must be stopped)."`
	Trace   traceCmd         `cmd:"" help:"Trace a lot up to its root batch and down to every descendant (offline on --data, or on --server)."`
	Report  reportCmd        `cmd:"" help:"Closure report of a region and declaration window as JSON, CSV, XLSX or PDF (offline on --data, or on --server)."`
	Version kong.VersionFlag `help:"Print the version."`
}

// dataDir is the flag every subcommand that opens the ledger takes.
type dataDir struct {
	Data string `default:"./data" env:"COLDTRACE_DATA" help:"Data directory (badger in db/, signing key log.key, blobs in blobs/)."`
}

func (d dataDir) dbPath() string  { return filepath.Join(d.Data, "db") }
func (d dataDir) keyPath() string { return filepath.Join(d.Data, "log.key") }

type serveCmd struct {
	dataDir
	blobFlags
	MaxAttachment     int64         `default:"52428800" env:"COLDTRACE_MAX_ATTACHMENT" help:"Largest attachment in bytes (larger uploads get 413)."`
	Addr              string        `default:"127.0.0.1:8080" env:"COLDTRACE_ADDR" help:"Address to listen on (port 0 picks a free one)."`
	Origin            string        `default:"coldtrace.local/ledger" env:"COLDTRACE_ORIGIN" help:"Log origin (checkpoint first line and key name); used only when the signing key is created."`
	BootstrapAdminKey string        `env:"COLDTRACE_BOOTSTRAP_ADMIN_KEY" help:"Admin key to create on an empty ledger (default: generate and print one)."`
	RateLimit         float64       `default:"200" env:"COLDTRACE_RATE_LIMIT" help:"Requests per second per API key (negative: no limit)."`
	RateBurst         int           `default:"400" env:"COLDTRACE_RATE_BURST" help:"Burst of requests per API key."`
	MaxBody           int64         `default:"1048576" env:"COLDTRACE_MAX_BODY" help:"Largest JSON request body in bytes."`
	MaxBatch          int           `default:"1024" env:"COLDTRACE_MAX_BATCH" help:"Most submissions per group commit."`
	LogLevel          slog.Level    `default:"INFO" env:"COLDTRACE_LOG_LEVEL" help:"Log level (DEBUG, INFO, WARN, ERROR)."`
	Grace             time.Duration `default:"10s" env:"COLDTRACE_GRACE" help:"How long shutdown waits for requests in flight."`
	SweepEvery        time.Duration `default:"1m" env:"COLDTRACE_SWEEP_EVERY" help:"How often to look for shipments past their deadline."`
	Demo              bool          `env:"COLDTRACE_DEMO" help:"On an empty ledger, load the demo data set and write its API keys to <data>/demo-keys.txt; print them at every start."`
	PublicURL         string        `env:"COLDTRACE_PUBLIC_URL" help:"Public base URL of the consumer pages /t/{code}, as printed in their QR codes (default: the address the server listens on, or an allowed Host)."`
	AllowedHosts      []string      `env:"COLDTRACE_ALLOWED_HOSTS" help:"Host names (host or host:port) whose requests get consumer-page URLs and QR codes under that Host when --public-url is unset; any other Host gets the listening address."`
	HeaderTimeout     time.Duration `default:"10s" env:"COLDTRACE_HEADER_TIMEOUT" help:"How long a client may take to send a request's headers."`
	BodyTimeout       time.Duration `default:"30s" env:"COLDTRACE_BODY_TIMEOUT" help:"How long a JSON request body may take to arrive (408 after); also the head start of uploads before --upload-min-rate applies."`
	UploadMinRate     int64         `default:"16384" env:"COLDTRACE_UPLOAD_MIN_RATE" help:"Slowest rate in bytes per second of an upload or batch body (408 when slower)."`
	MaxConnsPerIP     int           `default:"64" env:"COLDTRACE_MAX_CONNS_PER_IP" help:"Most open connections from one client address (0: no cap; behind a proxy, more than its pool)."`
	AnonRate          float64       `default:"20" env:"COLDTRACE_ANON_RATE" help:"Requests per second per client address to the endpoints without a key (negative: no limit)."`
	AnonBurst         int           `default:"100" env:"COLDTRACE_ANON_BURST" help:"Burst of requests per client address to the endpoints without a key."`
	AuthFailRate      float64       `default:"1" env:"COLDTRACE_AUTH_FAIL_RATE" help:"Failed authentications per second per client address (negative: no limit)."`
	AuthFailBurst     int           `default:"20" env:"COLDTRACE_AUTH_FAIL_BURST" help:"Burst of failed authentications per client address before 429."`
	MinFree           int64         `default:"1073741824" env:"COLDTRACE_MIN_FREE" help:"Free-space reserve of the data disk in bytes: below it writes answer 503 and /readyz fails, until space returns (0: none)."`
	TrustedProxies    []string      `env:"COLDTRACE_TRUSTED_PROXIES" help:"Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For names the client (default: none)."`
	Memory            memory.Size   `default:"1GiB" env:"COLDTRACE_MEMORY" help:"Memory budget (like 512MiB or 2GiB, at least 256MiB), split between badger's memtables, logs and caches, the ledger's caches and the Go heap; printed at start and exported on /metrics."`
	MappedRelease     bool          `default:"true" negatable:"" env:"COLDTRACE_MAPPED_RELEASE" help:"Keep the file-mapped resident memory within the budget's mapped part (wal+level0) by releasing the resident pages of badger's tables, which stay in the kernel's page cache (Linux)."`
}

func (d dataDir) demoKeysPath() string { return filepath.Join(d.Data, "demo-keys.txt") }

// opened is a ledger opened on a data directory, with what must be closed.
type opened struct {
	l        *ledger.Ledger
	store    *badgerkv.Store
	blobDesc string
}

func (o *opened) Close() {
	o.l.Close()
	o.store.Close()
}

// openLedger opens (creating if needed) the ledger in a data directory.
func openLedger(d dataDir, bf blobFlags, origin string, logger *slog.Logger, opts ledger.Options, bo badgerkv.Options) (*opened, error) {
	if err := os.MkdirAll(d.Data, 0o700); err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(d.keyPath(), origin)
	if err != nil {
		return nil, err
	}
	bo.Logger = logger
	store, err := badgerkv.Open(d.dbPath(), bo)
	if err != nil {
		return nil, err
	}
	blobs, blobDesc, err := bf.open(d.Data)
	if err != nil {
		store.Close()
		return nil, err
	}
	opts.Logger, opts.Blobs = logger, blobs
	l, err := ledger.New(store, key, opts)
	if err != nil {
		store.Close()
		return nil, err
	}
	return &opened{l: l, store: store, blobDesc: blobDesc}, nil
}

// bootstrap creates the admin key of an empty ledger (secret, or a new one
// that is printed) and returns its principal.
func bootstrap(ctx context.Context, l *ledger.Ledger, secret string) (ledger.Principal, error) {
	if secret == "" {
		secret, _ = ledger.NewKeySecret()
		fmt.Printf("admin key (shown once, keep it): %s\n", secret)
	}
	if _, err := l.Bootstrap(ctx, secret); err != nil {
		return ledger.Principal{}, fmt.Errorf("bootstrap: %w", err)
	}
	return l.Authenticate(ctx, secret)
}

func (c *serveCmd) Run(ctx context.Context) error {
	publicURL, err := api.ValidatePublicURL(c.PublicURL)
	if err != nil {
		return err
	}
	if os.Getenv("GOMAXPROCS") == "" {
		// Twice the default: the write path's syncer spends most of its time
		// in fsync, and a goroutine leaving a system call waits for a free P;
		// with every P busy serving requests it waited longer than the sync
		// itself. docs/decisions.md has the measurements.
		runtime.GOMAXPROCS(2 * runtime.GOMAXPROCS(0))
	}
	budget, err := memory.Split(c.Memory)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
	slog.SetDefault(logger)
	lo := ledger.Options{MaxBatch: c.MaxBatch, MaxAttachmentBytes: c.MaxAttachment, SweepEvery: c.SweepEvery}
	bo := badgerkv.Options{MinFreeBytes: c.MinFree}
	goLimit := applyBudget(budget, &bo, &lo)
	o, err := openLedger(c.dataDir, c.blobFlags, c.Origin, logger, lo, bo)
	if err != nil {
		return err
	}
	defer o.Close()
	l := o.l

	if l.Size() == 0 {
		admin, err := bootstrap(ctx, l, c.BootstrapAdminKey)
		if err != nil {
			return err
		}
		if c.Demo {
			if err := loadDemo(ctx, l, admin, c.demoKeysPath()); err != nil {
				return err
			}
		}
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	rel, stopRelease := startRelease(ctx, c.MappedRelease, budget, o.store, logger)
	defer stopRelease() // before the store closes
	h := api.New(l, api.Options{Logger: logger, MaxBodyBytes: c.MaxBody, RatePerSecond: c.RateLimit, RateBurst: c.RateBurst,
		PublicURL: publicURL, AllowedHosts: c.AllowedHosts,
		Ready: o.store.SpaceError, UploadFits: c.uploadFits(),
		Limits: api.Limits{BodyTimeout: c.BodyTimeout, UploadMinRate: c.UploadMinRate,
			AnonPerSecond: c.AnonRate, AnonBurst: c.AnonBurst, AuthFailPerSecond: c.AuthFailRate, AuthFailBurst: c.AuthFailBurst,
			TrustedProxies: c.TrustedProxies},
		Collectors: []prometheus.Collector{newMemoryCollector(budget, o.store, l, rel)}})
	// The webhook deliveries run beside the server and stop before the
	// ledger closes; what they did not deliver stays in the outbox.
	dctx, dstop := context.WithCancel(ctx)
	ddone := make(chan struct{})
	go func() { api.NewDeliverer(l, api.DelivererOptions{Logger: logger}).Run(dctx); close(ddone) }()
	defer func() { dstop(); <-ddone }()
	fmt.Printf("%s; Go memory limit %s; %s\n", budget, memory.Size(goLimit), releaseDesc(rel))
	fmt.Printf("coldtrace %s listening on http://%s (log %s, %d records; attachments in %s)\n", version, ln.Addr(), l.Origin(), l.Size(), o.blobDesc)
	if c.Demo {
		if keys, err := os.ReadFile(c.demoKeysPath()); err == nil {
			fmt.Printf("\nopen the regulator console: http://%s/ui/\ndemo API keys (also in %s):\n%s", ln.Addr(), c.demoKeysPath(), keys)
		}
	}
	return api.Serve(ctx, ln, h, api.ServeOptions{Grace: c.Grace, HeaderTimeout: c.HeaderTimeout, MaxConnsPerIP: c.MaxConnsPerIP})
}

type keysCmd struct {
	dataDir
}

func (c *keysCmd) Run() error {
	key, err := readKey(c.keyPath())
	if err != nil {
		return err
	}
	fmt.Println(key.VerifierKey())
	return nil
}

// newProgress shows a progress bar per stage when w is a terminal, and
// nothing otherwise.
func newProgress(w *os.File) ledger.Progress {
	if !term.IsTerminal(int(w.Fd())) {
		return nil
	}
	var bar *progressbar.ProgressBar
	var stage string
	return func(s string, done, total int64) {
		if s != stage {
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprintln(w)
			}
			stage = s
			if total <= 0 {
				total = -1
			}
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(s), progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond))
		}
		_ = bar.Set64(done)
	}
}

func main() {
	var c cli
	ctx := kong.Parse(&c, kong.Name("coldtrace"),
		kong.Description("coldtrace: a tamper-evident ledger of imported cold-chain goods."),
		kong.Vars{"version": version}, kong.UsageOnError())
	// Every command runs under a context that SIGINT and SIGTERM cancel:
	// a report or verify stops, the server shuts down gracefully.
	sig, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx.BindTo(sig, (*context.Context)(nil))
	if err := ctx.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "coldtrace %s: %v\n", ctx.Command(), err)
		os.Exit(1)
	}
}

// uploadFits refuses an upload of size bytes that would leave the data
// disk under the free-space reserve, when the blobs live on it.
func (c *serveCmd) uploadFits() func(int64) error {
	if c.MinFree <= 0 || c.S3Endpoint != "" {
		return nil
	}
	return func(size int64) error {
		free, err := badgerkv.FreeBytes(c.Data)
		if err != nil || free-size >= c.MinFree {
			return nil
		}
		return fault.Errorf(fault.Unavailable, "the disk cannot take an upload of %d MiB now (%d MiB free, %d MiB kept in reserve)", size>>20, free>>20, c.MinFree>>20)
	}
}
