package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"coldtrace/ledger/epcis"
	"coldtrace/ledger/fault"
)

// EPCIS 2.0 named queries: the parameters of a SimpleEventQuery stored
// under a name by the org that made it (a key without an org owns its
// own), outside the log (namedQueryKey). Nobody else sees them; running
// one answers only the events its caller may read, as GET /epcis/events.

// A NamedQuery is a stored query.
type NamedQuery struct {
	Name string `json:"name"`
	// Query holds the parameters as sent: an object whose members are
	// the standard's query parameters (a string, a list of strings meaning
	// any of them, or true for an EXISTS_ parameter).
	Query     json.RawMessage `json:"query"`
	CreatedAt time.Time       `json:"createdAt"`
	Owner     string          `json:"-"`
	Key       string          `json:"-"`
}

// storedQuery is a NamedQuery as kept.
type storedQuery struct {
	NamedQuery
	Owner string `json:"owner"`
	Key   string `json:"key"`
}

// maxQueryName bounds a query's name, which is a path segment.
const maxQueryName = 100

// queryOwner names who owns p's named queries and subscriptions.
func queryOwner(p Principal) string {
	if p.Org != "" {
		return "org:" + p.Org
	}
	return "key:" + p.Key
}

func namedQueryKey(owner, name string) []byte {
	return key(prefixNamedQuery, []byte(owner), []byte{'/'}, []byte(name))
}

// QueryValues turns a named query's parameters (a JSON object) into the
// form of a query string, and checks them as GET /epcis/events does. A
// problem names the parameter under "query".
func QueryValues(raw json.RawMessage) (url.Values, *epcis.Query, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return nil, nil, fault.InvalidField("query", "must be an object of SimpleEventQuery parameters")
	}
	v := url.Values{}
	for name, val := range members {
		field := "query." + name
		var s string
		var list []string
		var b bool
		switch {
		case string(bytes.TrimSpace(val)) == "null":
			return nil, nil, fault.InvalidField(field, "must be a string, a list of strings or (EXISTS_) true")
		case json.Unmarshal(val, &s) == nil:
			list = []string{s}
		case json.Unmarshal(val, &list) == nil && len(list) > 0:
		case json.Unmarshal(val, &b) == nil && b && strings.HasPrefix(name, "EXISTS_"):
			list = []string{""}
		default:
			return nil, nil, fault.InvalidField(field, "must be a string, a list of strings or (EXISTS_) true")
		}
		for _, x := range list {
			if strings.Contains(x, "|") {
				return nil, nil, fault.InvalidField(field, "a value holds |: give alternatives as a list")
			}
		}
		v.Set(name, strings.Join(list, "|"))
	}
	q, err := epcis.ParseQuery(v)
	if pe := (*epcis.ParamError)(nil); errors.As(err, &pe) {
		return nil, nil, fault.InvalidField("query."+pe.Param, "%s", pe.Msg)
	}
	return v, q, err
}

// CreateNamedQuery stores query under name for p's org; a name it already
// uses is a Conflict.
func (l *Ledger) CreateNamedQuery(ctx context.Context, p Principal, name string, query json.RawMessage) (*NamedQuery, error) {
	if name == "" || len(name) > maxQueryName || strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '~')
	}) {
		return nil, fault.InvalidField("name", "must be 1 to %d letters, digits, '-', '_', '.' or '~'", maxQueryName)
	}
	if _, _, err := QueryValues(query); err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, query); err != nil {
		return nil, fault.InvalidField("query", "is not JSON")
	}
	q := storedQuery{NamedQuery: NamedQuery{Name: name, Query: compact.Bytes(), CreatedAt: l.now().UTC()}, Owner: queryOwner(p), Key: p.Key}
	data, err := json.Marshal(q)
	if err != nil {
		return nil, err
	}
	k := namedQueryKey(q.Owner, name)
	err = l.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.Get(k); err == nil {
			return &fault.Error{Kind: fault.Conflict, Msg: "a query named " + name + " exists already",
				Fields: []fault.FieldError{{Field: "name", Message: "is taken"}}}
		} else if fault.KindOf(err) != fault.NotFound {
			return err
		}
		return tx.Set(k, data)
	})
	if err != nil {
		return nil, err
	}
	return &q.NamedQuery, l.store.Sync()
}

// NamedQueries lists p's org's named queries, by name.
func (l *Ledger) NamedQueries(ctx context.Context, p Principal) ([]NamedQuery, error) {
	out := []NamedQuery{}
	err := l.store.View(ctx, func(tx Tx) error {
		return tx.Scan(namedQueryKey(queryOwner(p), ""), nil, false, func(_, v []byte) error {
			var q storedQuery
			if err := json.Unmarshal(v, &q); err != nil {
				return err
			}
			out = append(out, q.NamedQuery)
			return nil
		})
	})
	return out, err
}

// NamedQueryOf returns p's org's query name and its parsed parameters;
// NotFound when p's org has none of that name.
func (l *Ledger) NamedQueryOf(ctx context.Context, p Principal, name string) (*NamedQuery, *epcis.Query, error) {
	var q *storedQuery
	err := l.store.View(ctx, func(tx Tx) (err error) { q, err = namedQuery(tx, p, name); return err })
	if err != nil {
		return nil, nil, err
	}
	_, parsed, err := QueryValues(q.Query)
	return &q.NamedQuery, parsed, err
}

func namedQuery(tx Tx, p Principal, name string) (*storedQuery, error) {
	return ownedQuery(tx, queryOwner(p), name)
}

func ownedQuery(tx Tx, owner, name string) (*storedQuery, error) {
	data, err := tx.Get(namedQueryKey(owner, name))
	if fault.KindOf(err) == fault.NotFound {
		return nil, fault.Errorf(fault.NotFound, "no query named %s", name)
	} else if err != nil {
		return nil, err
	}
	var q storedQuery
	return &q, json.Unmarshal(data, &q)
}

// DeleteNamedQuery removes p's org's query name and its subscriptions.
func (l *Ledger) DeleteNamedQuery(ctx context.Context, p Principal, name string) error {
	return l.store.Update(ctx, func(tx Tx) error {
		q, err := namedQuery(tx, p, name)
		if err != nil {
			return err
		}
		subs, err := subscriptionsOf(tx, q.Owner, name)
		if err != nil {
			return err
		}
		for _, s := range subs {
			if err := subscriptionQueue.Delete(tx, s.ID); err != nil {
				return err
			}
		}
		return tx.Delete(namedQueryKey(q.Owner, name))
	})
}
