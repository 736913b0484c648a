package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"coldtrace/ledger/fault"
)

// state gives typed access to the derived state in a transaction.
type state struct {
	tx Tx
	// ctx is the context of a query's caller (nil on the write path):
	// long loops call alive so that a query whose client went away stops.
	ctx   context.Context
	steps int
	// pol caches the policy in force for this transaction (policy.go).
	pol *Policy
	// keysChanged is set when an API key was written: cached principals
	// must be dropped once the transaction commits.
	keysChanged bool
	// nodes, set for queries (Ledger.query), decodes lot nodes through
	// the node cache; the write path leaves it nil.
	nodes *nodeCache
	// lots, set by the sequencer, decodes lots (and sites) through its
	// lot cache.
	lots *lotCache
}

// alive returns the query's ctx.Err() every aliveEvery calls, nil
// otherwise and always on the write path. Loops over many lots, batches or
// records call it once per item.
func (st *state) alive() error {
	if st.ctx == nil {
		return nil
	}
	if st.steps++; st.steps%aliveEvery != 0 {
		return nil
	}
	return st.ctx.Err()
}

// aliveEvery is how many items a query handles between looks at its context.
const aliveEvery = 64

func (st *state) get(k []byte) ([]byte, error) { return st.tx.Get(k) }

func (st *state) getJSON(k []byte, v any) error {
	data, err := st.tx.Get(k)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fault.Wrap(fault.Tampered, "stored state does not decode", fmt.Errorf("%s: %w", k, err))
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
	return st.put(tabKey.key(k.ID), k)
}

func (st *state) org(uscc string) (*Org, error) {
	var o Org
	if err := st.getJSON(tabOrg.key(uscc), &o); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return nil, &fault.Error{Kind: fault.NotFound, Msg: "no org " + uscc}
		}
		return nil, err
	}
	return &o, nil
}

func (st *state) site(id string) (*Site, error) {
	k := tabSite.key(id)
	data, err := st.tx.Get(k)
	if fault.KindOf(err) == fault.NotFound {
		return nil, &fault.Error{Kind: fault.NotFound, Msg: "no site " + id}
	}
	if err != nil {
		return nil, err
	}
	if st.lots != nil {
		if s, ok := st.lots.sites[id]; ok && bytes.Equal(s.raw, data) {
			c := s.site
			return &c, nil
		}
	}
	var s Site
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fault.Wrap(fault.Tampered, "stored state does not decode", fmt.Errorf("%s: %w", k, err))
	}
	if st.lots != nil {
		st.lots.addSite(id, data, s)
	}
	return &s, nil
}

func (st *state) apiKey(id string) (*APIKey, error) {
	var k APIKey
	if err := st.getJSON(tabKey.key(id), &k); err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return nil, fault.Errorf(fault.NotFound, "no key %s", id)
		}
		return nil, err
	}
	return &k, nil
}

func indexField(name string, i int) string { return name + "[" + strconv.Itoa(i) + "]" }
