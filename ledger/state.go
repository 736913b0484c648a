package ledger

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// state gives typed access to the derived state in a transaction.
type state struct {
	tx Tx
	// keysChanged is set when an API key was written: cached principals
	// must be dropped once the transaction commits.
	keysChanged bool
	// nodes, set for queries (Ledger.query), decodes lot nodes through
	// the node cache; the write path leaves it nil.
	nodes *nodeCache
	// lots, set by the sequencer, decodes lots through its lot cache.
	lots *lotCache
}

func (st *state) get(k []byte) ([]byte, error) { return st.tx.Get(k) }

func (st *state) getJSON(k []byte, v any) error {
	data, err := st.tx.Get(k)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return Wrap(Tampered, "stored state does not decode", fmt.Errorf("%s: %w", k, err))
	}
	return nil
}

func (st *state) put(k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.tx.Set(k, data)
}

// putKey writes an API key's state.
func (st *state) putKey(k *APIKey) error {
	st.keysChanged = true
	return st.put(stateKey("key", k.ID), k)
}

func (st *state) org(uscc string) (*Org, error) {
	var o Org
	if err := st.getJSON(stateKey("org", uscc), &o); err != nil {
		if KindOf(err) == NotFound {
			return nil, &Error{Kind: NotFound, Msg: "no org " + uscc}
		}
		return nil, err
	}
	return &o, nil
}

func (st *state) site(id string) (*Site, error) {
	var s Site
	if err := st.getJSON(stateKey("site", id), &s); err != nil {
		if KindOf(err) == NotFound {
			return nil, &Error{Kind: NotFound, Msg: "no site " + id}
		}
		return nil, err
	}
	return &s, nil
}

func (st *state) apiKey(id string) (*APIKey, error) {
	var k APIKey
	if err := st.getJSON(stateKey("key", id), &k); err != nil {
		if KindOf(err) == NotFound {
			return nil, Errorf(NotFound, "no key %s", id)
		}
		return nil, err
	}
	return &k, nil
}

// effects collects what applying a record did, for the receipt.
type effects struct {
	lot         *Lot // the lot the record is about
	findings    []Finding
	registered  any  // the org, site or key a registry record created
	keysChanged bool // an API key was written
}

// A kindSpec is everything the ledger knows about one event kind: its
// stateless field checks, its stateful preparation (authority and physical
// invariants, normalisation, ids) and how it changes derived state.
type kindSpec struct {
	// check validates fields that need no state. It must not change ev.
	check func(ev *Event, fe *fieldErrors)
	// prepare validates rec's event against current state for principal p
	// and normalises it (resolving references, assigning ids, filling
	// created_lots). Nothing is written: an error rejects only this
	// submission. rec.Seq, ID, RecordedAt, Actor and At are set.
	prepare func(st *state, p Principal, rec *Record) error
	// apply changes derived state as rec says. It sees only the record and
	// the state, so that replaying the log rebuilds the same state.
	apply func(st *state, rec *Record, fx *effects) error
	// registry kinds are submitted through the registry endpoints.
	registry bool
	// system kinds are written by the ledger itself, never by clients.
	system bool
}

var kinds = map[EventKind]kindSpec{
	OrgRegistered:  {check: checkOrgRegistered, prepare: prepareOrgRegistered, apply: applyOrgRegistered, registry: true},
	SiteRegistered: {check: checkSiteRegistered, prepare: prepareSiteRegistered, apply: applySiteRegistered, registry: true},
	KeyCreated:     {check: checkKeyCreated, prepare: prepareKeyCreated, apply: applyKeyCreated, registry: true},
	KeyRevoked:     {check: checkKeyRevoked, prepare: prepareKeyRevoked, apply: applyKeyRevoked, registry: true},

	Declared:            lotKind(checkDeclared, prepareDeclared, applyDeclared),
	DocumentsAdded:      lotKind(checkDocumentsAdded, prepareNothing, applyNothing),
	Tested:              lotKind(checkTested, prepareTested, applyTested),
	Disinfected:         lotKind(checkDisinfected, prepareNothing, applyDisinfected),
	Released:            lotKind(checkReleased, prepareReleased, applyReleased),
	Shipped:             lotKind(checkShipped, prepareShipped, applyShipped),
	Received:            lotKind(checkReceived, prepareReceived, applyReceived),
	Transformed:         lotKind(checkTransformed, prepareTransformed, applyTransformed),
	Sold:                lotKind(checkSold, prepareTakeOut, applyTakeOut(func(q *LotQuantity) *int64 { return &q.Sold }, true)),
	Consumed:            lotKind(checkConsumed, prepareTakeOut, applyTakeOut(func(q *LotQuantity) *int64 { return &q.Consumed }, true)),
	Destroyed:           lotKind(checkDestroyed, prepareTakeOut, applyDestroyed),
	Sealed:              lotKind(checkReason, prepareSealed, applySealed),
	Unsealed:            lotKind(checkReason, prepareUnsealed, applyUnsealed),
	TemperatureRecorded: lotKind(checkTemperatureRecorded, prepareNothing, applyTemperatureRecorded),
	SiteTested:          lotKind(checkSiteTested, prepareSiteTested, applySiteTested),
	SiteDisinfected:     lotKind(checkSiteDisinfected, prepareSiteDisinfected, applySiteDisinfected),
	FindingClosed:       lotKind(checkFindingClosed, prepareFindingClosed, applyFindingClosed),
	Voided:              {check: lotCheck(checkVoided), prepare: prepareLot(prepareVoided), apply: applyVoided},
	TransitOverdue:      {check: func(*Event, *fieldErrors) {}, prepare: prepareSystemOnly, apply: applyLot(applyTransitOverdue), system: true},
}

// lotKind assembles the spec of a lot or site event kind.
func lotKind(check func(*Event, *fieldErrors), prepare func(*state, Principal, *Record, *Lot) error, apply func(*lotTx, *Lot, *effects) error) kindSpec {
	return kindSpec{check: lotCheck(check), prepare: prepareLot(prepare), apply: applyLot(apply)}
}

// prepareNothing is the prepare of kinds whose authority (authority.go)
// and shared checks (prepareLot) are all they need.
func prepareNothing(*state, Principal, *Record, *Lot) error { return nil }

// applyNothing is the apply of kinds whose shared effects (applyLot: the
// record's documents and indexes) are all they do.
func applyNothing(*lotTx, *Lot, *effects) error { return nil }

func prepareSystemOnly(*state, Principal, *Record) error {
	return forbid("only the ledger itself writes this kind")
}

// IsSystem reports whether k is written only by the ledger itself.
func (k EventKind) IsSystem() bool { return kinds[k].system }

// IsRegistry reports whether k is a registry kind (orgs, sites, keys).
func (k EventKind) IsRegistry() bool { return kinds[k].registry }

// applyRecord changes derived state as rec says; lots is the sequencer's
// lot cache (nil elsewhere).
func applyRecord(tx Tx, lots *lotCache, rec *Record) (*effects, error) {
	spec, ok := kinds[rec.Kind]
	if !ok {
		return nil, Errorf(Tampered, "record %d has unknown kind %q", rec.Seq, rec.Kind)
	}
	fx := &effects{}
	st := &state{tx: tx, lots: lots}
	if err := spec.apply(st, rec, fx); err != nil {
		return nil, err
	}
	fx.keysChanged = st.keysChanged
	return fx, nil
}

func indexField(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }
