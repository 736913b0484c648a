// Package ledger is the centre of coldtrace: the domain of imported cold-chain
// lots and the append-only, tamper-evident log that records it.
//
// Every state change is one record appended to an RFC 6962 Merkle tree
// (golang.org/x/mod/sumdb/tlog) and covered by a signed C2SP checkpoint
// (golang.org/x/mod/sumdb/note). A single sequencer goroutine applies
// submissions in order and commits each group in one synced Store
// transaction, together with the derived state and indexes; callers are
// answered only after that commit. Reads use Store snapshots and take the
// caller's context, which stops a long query when its client goes away.
//
// # Rooms
//
// The package is read room by room; each file belongs to one.
//
//   - The door and the write path: ledger.go (New, Submit, the small reads),
//     store.go (the Store and Tx, whose contract is ledger/kv's),
//     statecache.go (the latest committed state entries the write path
//     reads, kept in memory), keys.go (every key and index, named once),
//     retired.go (entries older code wrote under prefixes no code writes
//     now, deleted at open), migrate.go (the root-region index's
//     summaries, filled in once at open), sequencer.go (the sequencer, the syncer and
//     the retry plan), pace.go (when a growing group commits), group.go
//     (one group in one transaction),
//     batch.go (a batch queued in order), batch_idem.go, refused.go,
//     principals.go, stats.go.
//   - Records and kinds: record.go and event.go (the kinds), kinds.go (the
//     kind table: each kind's door and rules), policy.go (policy versions),
//     authority.go (who may record what; docs/authority.md).
//   - The rules, by kind family, each with its check, prepare and apply:
//     registry.go, goods.go, moves.go, inspections.go, regulator.go, with
//     papers.go (documents), clearance.go, correction.go, finding.go,
//     alerts.go (positives told to every province), vehicle_contacts.go
//     (goods that rode the same truck), worklist.go (assign, evidence,
//     notices), sweep.go (overdue transit and findings), lists.go (the
//     caps of request lists), people.go and annex.go (personal data kept
//     off the log), people_findings.go (who worked on a positive batch, per
//     region), worker_tests.go (worker tests at high-risk posts and their
//     sweep).
//   - Lot state for the rules: lot.go, lottx.go (one record's changes to
//     its lots), lotcache.go, lotcodec.go (the stored encodings of a lot
//     and its before-image), lotview.go and grams.go (what Lot and the
//     query node share), state.go (typed access to a transaction).
//   - Query views: node.go, nodecodec.go, nodecache.go, generations.go (the
//     compact nodes, family copies and batch summaries the queries read),
//     stays.go (every stay by site and end: recall's contacts and the
//     positive rules read it).
//   - Queries and reports: query.go (lot, events, findings), list.go,
//     trace.go, closure.go, recall.go, report.go (and report_batches.go,
//     its reads of batches and families), public.go,
//     lot_findings.go; the log's own reads: proof.go (with the proofs' cache
//     of stored hashes), readable.go.
//   - EPCIS 2.0: epcis_capture.go (captured events as records, all-or-nothing
//     documents), epcis_query.go (the events query and capture jobs),
//     epcis_effects.go (captured events about a coldtrace lot take effect
//     as domain events), epcis_effects_ext.go (the coldtrace extensions an
//     effect reads), epcis_effects_void.go (error declarations void an
//     effect), epcis_effects_transform.go (processing), epcis_effects_lgtin.go
//     (lots named by their LGTIN), epcis_named.go (named queries),
//     epcis_subscribe.go (subscriptions to them: which captured events go
//     to whom, read as the subscriber's key at fan-out and again at
//     delivery).
//   - Attachments: attachments.go (upload records, references, reads).
//   - Webhooks and deliveries: outbox.go (finding events, the stream,
//     webhooks and which events each is told), deliveries.go (what the
//     delivery worker takes and reports, for webhooks and subscriptions
//     alike, over ledger/delivery's queues).
//   - Checking a data directory: verify.go (Verify, VerifyLog and the
//     comparison of the derived state; the log itself is checked by
//     vlog.Verify), verify_replay.go (the records decoded ahead and
//     replayed into scratch), verify_attachments.go.
//
// Leaf packages that know nothing of lots: ledger/vlog (records, stored
// hashes, frontier, checkpoints, proofs and their cache of stored hashes,
// the log's verification on every core), ledger/ident (identifiers and trace codes), ledger/fault (error
// kinds), ledger/epcis (EPCIS 2.0), ledger/blob (the object store contract
// and the checks on uploaded bytes), ledger/input (checks on request input:
// personal data in free text, invisible characters, look-alike ids, lists),
// ledger/kv (the Store and Tx contracts, merged reads of many keys),
// ledger/delivery (destinations, their queues of deliveries, the due index,
// attempts, retries, a destination disabled by 410 Gone).
//
// The package imports only the standard library, golang.org/x/... and
// github.com/google/uuid; adapters (storage, HTTP) live elsewhere and talk to
// it through Store (ledger/kv's) and Blobs (ledger/blob's).
package ledger

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/vlog"
)

// Options tune a Ledger. The zero value is usable.
type Options struct {
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// MaxBatch bounds how many submissions one commit takes; 1024 when 0.
	MaxBatch int
	// Logger receives the ledger's own logs; slog.Default() when nil.
	Logger *slog.Logger
	// SweepEvery is how often the ledger looks for overdue shipments; one
	// minute when 0, never when negative (call Sweep).
	SweepEvery time.Duration
	// Blobs stores attachment bytes; without it attachments are refused
	// as Unavailable.
	Blobs Blobs
	// MaxAttachmentBytes limits one attachment; DefaultMaxAttachmentBytes
	// when 0.
	MaxAttachmentBytes int64
	// Policy is the policy a new ledger starts under (its bootstrap record
	// carries it); DefaultPolicy() when nil.
	Policy *Policy
	// CheckLotCache makes the sequencer check on every lot cache hit that
	// no rule modified a shared lot in place (a panic if one did). Tests
	// set it; it costs an encoding per event.
	CheckLotCache bool
	// LotCacheBytes and NodeCacheBytes bound the decoded-lot caches of the
	// write path and of the queries (about: see lotCache and nodeCache);
	// 64 and 96 MiB when 0; StateCacheBytes bounds the cache of the latest
	// committed state entries (cachingStore), 32 MiB when 0.
	// HashCacheBytes bounds the proofs' cache of stored hashes
	// (vlog.HashCache), 8 MiB when 0. cmd/coldtrace/memory sizes them
	// from the budget.
	LotCacheBytes, NodeCacheBytes, StateCacheBytes, HashCacheBytes int
}

// A Ledger records events and answers queries about them. It is safe for
// concurrent use.
type Ledger struct {
	store    Store
	signer   Signer
	verifier note.Verifier // of signer's signatures
	origin   string
	now      func() time.Time
	log      *slog.Logger
	maxBatch int
	policy   Policy // a new ledger's policy (Options.Policy)
	att      *attachmentStore
	nodes    nodeCache // decoded lot nodes for the queries (nodecache.go)
	hashes   *vlog.HashCache
	warmed   chan struct{} // hashes' warm-up ended (proof.go)
	lots     lotCache      // decoded lots for the sequencer (lotcache.go)

	// head is the latest durable checkpoint: what readers and the log
	// endpoints see. applied is the size of the tree the sequencer has
	// committed, durable or not; only the sequencer goroutine uses it.
	head    atomic.Pointer[signedHead]
	applied int64
	failed  atomic.Pointer[error]

	principals principalCache
	stats      writeStats
	frontier   vlog.Frontier // the sequencer's: see frontier.go

	subs      chan *submission
	syncq     chan *committedGroup
	pace      pace // when a growing group commits
	quit      chan struct{}
	done      chan struct{} // the sequencer stopped
	synced    chan struct{} // the syncer answered everything and stopped
	closeOnce sync.Once
}

// signedHead is the latest committed checkpoint.
type signedHead struct {
	size       int64
	checkpoint vlog.Checkpoint
	note       []byte
}

// A Signer signs the log's checkpoints: a note signer whose name is the
// log's origin, which also gives the text of its verifier key (as
// note.NewVerifier takes it) for the ledger to check stored checkpoints and
// publish. A *vlog.Key is one; where its key text is kept is the caller's
// business (cmd keeps it in a file).
type Signer interface {
	note.Signer
	VerifierKey() string
}

// New opens the ledger kept in store, whose checkpoints signer signs. It
// checks that the latest stored checkpoint matches the stored hashes and
// starts the sequencer.
func New(store Store, signer Signer, opts Options) (*Ledger, error) {
	verifier, err := note.NewVerifier(signer.VerifierKey())
	if err != nil {
		return nil, fault.Wrap(fault.Invalid, "the signer's verifier key does not parse", err)
	}
	if verifier.Name() != signer.Name() || verifier.KeyHash() != signer.KeyHash() {
		return nil, fault.Errorf(fault.Invalid, "the signer's verifier key is not its own")
	}
	l := &Ledger{
		store:    &cachingStore{Store: store, c: stateCache{max: max(opts.StateCacheBytes, 0)}},
		signer:   signer,
		verifier: verifier,
		origin:   signer.Name(),
		now:      opts.Now,
		log:      opts.Logger,
		maxBatch: opts.MaxBatch,
		policy:   DefaultPolicy(),
		att:      newAttachmentStore(opts),
		subs:     make(chan *submission, 4096),
		syncq:    make(chan *committedGroup, 64),
		pace:     newPace(),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		synced:   make(chan struct{}),
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	if opts.Policy != nil {
		l.policy = *opts.Policy
	}
	l.lots.check = opts.CheckLotCache
	l.lots.max, l.nodes.max = max(opts.LotCacheBytes, 0), max(opts.NodeCacheBytes, 0)
	if l.maxBatch <= 0 {
		l.maxBatch = 1024
	}
	head, err := l.loadHead()
	if err != nil {
		return nil, err
	}
	l.head.Store(head)
	l.applied = head.size
	l.startHashCache(opts.HashCacheBytes, head.size)
	// Housekeeping: entries left by older code go now, or at the next open
	// (a full disk, say, must not keep the ledger from opening for reads).
	if err := dropRetired(context.Background(), l.store, l.log); err != nil {
		l.log.Warn("retired state entries not deleted; the next open tries again", "err", err)
	}
	if err := fillRootRegion(context.Background(), l.store, l.log); err != nil {
		l.log.Warn("the root-region index not filled in; reports fail until the next open does it", "err", err)
	}
	go l.run()
	go l.syncLoop()
	if opts.SweepEvery == 0 {
		opts.SweepEvery = time.Minute
	}
	if opts.SweepEvery > 0 {
		go l.sweepLoop(opts.SweepEvery)
	}
	return l, nil
}

// loadHead reads the latest checkpoint and checks it against the stored tree:
// the signature is the ledger's, the root is what the stored hashes give,
// and no record lies beyond it.
func (l *Ledger) loadHead() (*signedHead, error) {
	h := &signedHead{checkpoint: vlog.Checkpoint{Origin: l.origin}}
	err := l.store.View(context.Background(), func(tx Tx) error {
		size, err := vlog.TreeSize(tx)
		if err != nil || size == 0 {
			return err
		}
		msg, err := vlog.ReadCheckpoint(tx, size)
		if err != nil {
			return err
		}
		cp, err := vlog.OpenCheckpoint(msg, l.verifier)
		if err != nil {
			return err
		}
		root, err := tlog.TreeHash(size, vlog.HashReader(tx))
		if err != nil {
			return err
		}
		if cp.Size != size || cp.Root != root || cp.Origin != l.origin {
			return fault.Errorf(fault.Tampered, "latest checkpoint (size %d) does not match the stored tree", size)
		}
		if _, err := tx.Get(vlog.RecordKey(size)); err == nil {
			return fault.Errorf(fault.Tampered, "record %d lies beyond the latest checkpoint", size)
		}
		h.size, h.checkpoint, h.note = size, cp, msg
		return nil
	})
	return h, err
}

// Close stops the sequencer after the group in progress. It does not close
// the Store.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		close(l.quit)
		<-l.done
		<-l.synced
		<-l.warmed
	})
	return nil
}

func (l *Ledger) fail(err error) {
	e := fault.Wrap(fault.Unavailable, "the ledger stopped accepting writes after a storage failure; restart it", err)
	l.failed.CompareAndSwap(nil, &e)
	l.log.Error("commit failed; writes stopped", "err", err)
}

// failure returns the error that stopped writes, or nil.
func (l *Ledger) failure() error {
	if p := l.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// Healthy returns nil when the ledger accepts writes.
func (l *Ledger) Healthy() error { return l.failure() }

// Submit validates ev, hands it to the sequencer and waits until it is
// committed. idem, if not empty, is the client's Idempotency-Key: a retry with
// the same key and event returns the first receipt (Replayed set), with a
// different event a Conflict.
func (l *Ledger) Submit(ctx context.Context, p Principal, ev Event, idem string) (*Receipt, error) {
	if ev.Kind == KeyCreated {
		return nil, fault.InvalidField("kind", "keys are created with CreateKey")
	}
	s, err := l.newSubmission(p, ev, idem)
	if err != nil {
		return nil, err
	}
	return l.enqueue(ctx, s)
}

// CreateKey registers a new API key as ev (kind key_created) says and returns
// its secret, which is stored nowhere. A retry with the same Idempotency-Key
// returns the first receipt (Replayed) and no secret.
func (l *Ledger) CreateKey(ctx context.Context, p Principal, ev Event, idem string) (*Receipt, string, error) {
	ev.Kind = KeyCreated
	s, err := l.newSubmission(p, ev, idem)
	if err != nil {
		return nil, "", err
	}
	secret, sha := NewKeySecret()
	s.keyHash = sha
	r, err := l.enqueue(ctx, s)
	if err != nil || r.Replayed {
		secret = ""
	}
	return r, secret, err
}

// newSubmission checks ev's fields and wraps it for the sequencer.
func (l *Ledger) newSubmission(p Principal, ev Event, idem string) (*submission, error) {
	if err := checkDoor(ev.Kind, atSubmit); err != nil {
		return nil, err
	}
	spec := kinds[ev.Kind]
	if len(idem) > 255 {
		return nil, fault.InvalidField("Idempotency-Key", "is longer than 255 characters")
	}
	var fe fault.Fields
	spec.check(&ev, &fe)
	if !ev.At.IsZero() && ev.At.After(l.now().Add(maxSkew)) {
		fe.Add("at", "is in the future")
	}

	if err := fe.Err(); err != nil {
		return nil, err
	}
	ev.At = ev.At.UTC()
	s := &submission{p: p, ev: ev, idem: idem}
	if idem != "" {
		s.bodyHash = eventHash(ev)
	}
	annex, err := takeAnnex(&s.ev) // annex.go: note and people off the log
	if err != nil {
		return nil, err
	}
	s.annex = annex
	return s, nil
}

func (l *Ledger) enqueue(ctx context.Context, s *submission) (*Receipt, error) {
	s.done = make(chan result, 1)
	if err := l.send(ctx, s); err != nil {
		return nil, err
	}
	r := l.wait(s)
	return r.receipt, r.err
}

// send queues s for the sequencer.
func (l *Ledger) send(ctx context.Context, s *submission) error {
	if err := l.failure(); err != nil {
		return err
	}
	select {
	case l.subs <- s:
		return nil
	case <-ctx.Done():
		return fault.Wrap(fault.Unavailable, "request cancelled before it was queued", ctx.Err())
	case <-l.quit:
		return fault.Errorf(fault.Unavailable, "the ledger is shutting down")
	}
}

// wait returns the answer to a queued submission. Once queued, it will be
// committed or refused; wait even if the client has gone, so that nothing
// is half-known.
func (l *Ledger) wait(s *submission) result {
	select {
	case r := <-s.done:
		return r
	case <-l.synced:
		select {
		case r := <-s.done:
			return r
		default:
			return result{err: fault.Errorf(fault.Unavailable, "the ledger shut down before committing this event")}
		}
	}
}

// MinBootstrapKeyLen is the shortest admin secret Bootstrap accepts.
const MinBootstrapKeyLen = 20

// Bootstrap creates the first admin key of an empty ledger, with the given
// secret. It fails with Conflict on a ledger that has any record.
func (l *Ledger) Bootstrap(ctx context.Context, secret string) (*Receipt, error) {
	if len(secret) < MinBootstrapKeyLen {
		return nil, fault.InvalidField("COLDTRACE_BOOTSTRAP_ADMIN_KEY", "must be at least %d characters", MinBootstrapKeyLen)
	}
	// The first record carries the policy the ledger starts under.
	pol := l.policy
	ev := Event{Kind: KeyCreated, Role: RoleAdmin, Policy: &pol}
	return l.enqueue(ctx, &submission{ev: ev, bootstrap: true, keyHash: secretHash(secret)})
}

// Size returns the number of committed records.
func (l *Ledger) Size() int64 { return l.head.Load().size }

// Origin returns the log's origin line, the name of its signing key.
func (l *Ledger) Origin() string { return l.origin }

// Authenticate returns the principal of an API key secret, or an
// Unauthenticated error when the key is unknown or revoked.
func (l *Ledger) Authenticate(ctx context.Context, secret string) (Principal, error) {
	hash := secretHash(secret)
	if p, ok := l.principals.get(hash); ok {
		return p, nil
	}
	gen := l.principals.gen.Load() // before the snapshot: see principalCache
	var p Principal
	err := l.store.View(ctx, func(tx Tx) error {
		st := &state{tx: tx}
		id, err := st.get(keyHashKey(hash))
		if fault.KindOf(err) == fault.NotFound {
			return fault.Errorf(fault.Unauthenticated, "unknown API key")
		} else if err != nil {
			return err
		}
		k, err := st.apiKey(string(id))
		if err != nil {
			return err
		}
		if k.Revoked {
			return fault.Errorf(fault.Unauthenticated, "this API key was revoked")
		}
		p = Principal{Key: k.ID, Org: k.Org, Role: k.Role, Regions: k.Regions}
		return nil
	})
	if err != nil {
		return Principal{}, err
	}
	l.principals.put(hash, gen, p)
	return p, nil
}

// view runs fn on a snapshot with typed state access.
func (l *Ledger) view(ctx context.Context, fn func(st *state) error) error {
	return l.store.View(ctx, func(tx Tx) error { return fn(&state{tx: tx, ctx: ctx}) })
}

// Org returns a registered org.
func (l *Ledger) Org(ctx context.Context, uscc string) (o *Org, err error) {
	err = l.view(ctx, func(st *state) error { o, err = st.org(uscc); return err })
	return o, err
}

// Site returns a registered site.
func (l *Ledger) Site(ctx context.Context, id string) (s *Site, err error) {
	err = l.view(ctx, func(st *state) error { s, err = st.site(id); return err })
	return s, err
}

// Keys lists, in creation order and without secrets, the API keys p may
// manage: all of them for an admin, the keys a regulator created (directly
// or through keys it created) for a regulator.
func (l *Ledger) Keys(ctx context.Context, p Principal) ([]APIKey, error) {
	if p.Role != RoleAdmin && p.Role != RoleRegulator {
		return nil, fault.Errorf(fault.Forbidden, "only admin and regulator keys list keys")
	}
	var keys []APIKey
	err := l.view(ctx, func(st *state) error {
		return st.tx.Scan(tabKey.all(), nil, false, func(_, v []byte) error {
			var k APIKey
			if err := json.Unmarshal(v, &k); err != nil {
				return fault.Wrap(fault.Tampered, "stored key does not decode", err)
			}
			if p.Role == RoleRegulator {
				if under, err := createdUnder(st, &k, p.Key); err != nil || !under {
					return err
				}
			}
			var err error
			k.CreatedBy, err = keyCreator(st, &k)
			keys = append(keys, k)
			return err
		})
	})
	slices.SortFunc(keys, func(a, b APIKey) int { return cmp.Compare(a.Seq, b.Seq) })
	return keys, err
}

// KeyOfRecord returns the API key that record seq (a key_created record)
// created, in its current state.
func (l *Ledger) KeyOfRecord(ctx context.Context, seq int64) (k *APIKey, err error) {
	err = l.view(ctx, func(st *state) error {
		rec, err := st.record(seq)
		if err != nil {
			return err
		}
		if rec.Kind != KeyCreated {
			return fault.Errorf(fault.NotFound, "record %d does not create a key", seq)
		}
		if k, err = st.apiKey(rec.Key); err != nil {
			return err
		}
		k.CreatedBy = rec.Actor.Key
		return nil
	})
	return k, err
}

// VerifierKey returns the note verifier key of the log's checkpoints.
func (l *Ledger) VerifierKey() string { return l.signer.VerifierKey() }
