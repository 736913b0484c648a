package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"coldtrace/ledger/fault"
	"coldtrace/ledger/input"
)

// The policy: the numbers and parts the rules apply, in one value, so that a
// province's stricter or later-relaxed rules are configuration, not code.
// The policy in force is itself recorded — in the bootstrap record of a new
// ledger and in a policy_set record when an admin changes it — so that
// replaying the log applies every record under the policy of its time. A
// ledger whose log records no policy runs the rules it was written under
// (Version 0): its records replay to the same state.

// PolicySet is the kind of the record that changes the policy in force.
const PolicySet EventKind = "policy_set"

// A Policy is the rule values in force.
type Policy struct {
	// Version 1 judges cleared by its parts (ClearedParts), refuses moving
	// sealed goods and counts grams sold off the ledger apart; 0 is the
	// rules before them.
	Version int `json:"version"`
	// Samples is the least number of samples a test must take, by lot size:
	// the first step whose UpToKg is at least the lot's declared weight.
	Samples []SampleStep `json:"samples"`
	// TransitDays is the longest a shipment may be given to arrive.
	TransitDays int `json:"transit_days"`
	// LateHours: a positive result or a seal recorded more than this many
	// hours after it happened opens a late_report finding (the seeds' 2-hour
	// direct reporting).
	LateHours int `json:"late_hours"`
	// SkewMinutes is how far in the future an event's time may lie.
	SkewMinutes int `json:"skew_minutes"`
	// ClearedParts lists, per product category, the parts of "cleared".
	ClearedParts map[string][]string `json:"cleared_parts"`
}

// A SampleStep is a row of the sampling table.
type SampleStep struct {
	UpToKg  int64 `json:"up_to_kg"`
	Samples int64 `json:"samples"`
}

// The parts of "cleared" (四不 done right).
const (
	PartPapers       = "papers"       // the importer's quarantine certificate (and customs declaration)
	PartTest         = "test"         // a lab's negative test after arrival, goods and packaging, enough samples, report attached
	PartDisinfection = "disinfection" // a disinfector's, each piece and outer packaging, certificate attached
	PartRelease      = "release"      // by the supervision warehouse holding the lot, after test and disinfection
)

// PartText explains each part (Chinese, English).
var PartText = map[string][2]string{
	PartPapers:       {"进口商上传的检验检疫证明和报关单", "the importer's quarantine certificate and customs declaration"},
	PartTest:         {"货物到达首站后由检测机构对货物及包装抽样的核酸检测阴性报告（样本数达标）", "a lab's negative test of goods and packaging after arrival at the first station, with enough samples and its report"},
	PartDisinfection: {"消毒机构对外包装逐件消毒的消毒证明（件件消）", "a disinfector's certificate for each piece and the outer packaging (件件消)"},
	PartRelease:      {"检测和消毒之后出具的出仓证明（放行）", "the supervision warehouse's release after the test and the disinfection"},
}

// DefaultPolicy is the policy of a new ledger.
func DefaultPolicy() Policy {
	return Policy{
		Version:     1,
		Samples:     []SampleStep{{UpToKg: 1000, Samples: 5}, {UpToKg: 10000, Samples: 10}, {UpToKg: 50000, Samples: 20}, {UpToKg: 1 << 40, Samples: 30}},
		TransitDays: 7, LateHours: 2, SkewMinutes: 5,
		ClearedParts: map[string][]string{
			CategoryFrozen:       {PartPapers, PartTest, PartDisinfection, PartRelease},
			CategoryChilled:      {PartPapers, PartTest, PartDisinfection, PartRelease},
			CategoryNonColdChain: {PartPapers, PartDisinfection, PartRelease},
		},
	}
}

// PolicyV0 is the policy of a ledger whose log records none: the rules it
// was written under, before policy version 1.
func PolicyV0() Policy {
	return Policy{Version: 0, TransitDays: 0, SkewMinutes: 5}
}

// check validates a policy an admin sets.
func (p Policy) check(fe *fault.Fields) {
	if p.Version != 1 {
		fe.Add("policy.version", "must be 1")
	}
	if len(p.Samples) == 0 {
		fe.Add("policy.samples", "is required: the sampling table")
	}
	input.List(fe, "policy.samples", p.Samples, maxSampleSteps, "", nil) // steps must rise, so none repeats
	for i, s := range p.Samples {
		if s.UpToKg <= 0 || s.Samples <= 0 || (i > 0 && s.UpToKg <= p.Samples[i-1].UpToKg) {
			fe.Add(indexField("policy.samples", i), "must be a positive step above the one before")
		}
	}
	if p.TransitDays < 1 || p.TransitDays > 60 {
		fe.Add("policy.transit_days", "must be between 1 and 60")
	}
	if p.LateHours < 1 || p.LateHours > 72 {
		fe.Add("policy.late_hours", "must be between 1 and 72")
	}
	if p.SkewMinutes < 0 || p.SkewMinutes > 60 {
		fe.Add("policy.skew_minutes", "must be between 0 and 60")
	}
	for _, c := range Categories {
		input.List(fe, "policy.cleared_parts."+c, p.ClearedParts[c], len(PartText), "", func(s string) string { return s })
		for _, part := range p.ClearedParts[c] {
			if _, ok := PartText[part]; !ok {
				fe.Add("policy.cleared_parts."+c, "unknown part %q", part)
			}
		}
	}
}

// samplesFor returns the least number of samples for a lot of grams.
func (p Policy) samplesFor(grams int64) int64 {
	for _, s := range p.Samples {
		if grams <= s.UpToKg*1000 {
			return s.Samples
		}
	}
	return 0
}

// parts returns the parts of cleared for a product category.
func (p Policy) parts(category string) []string { return p.ClearedParts[category] }

// skew is how far in the future an event's time may lie.
func (p Policy) skew() time.Duration { return time.Duration(p.SkewMinutes) * time.Minute }

var policyKey = tabPolicy.all()

// policy returns the policy in force.
func (st *state) policy() (Policy, error) {
	if st.pol != nil {
		return *st.pol, nil
	}
	data, err := st.tx.Get(policyKey)
	if fault.KindOf(err) == fault.NotFound {
		p := PolicyV0()
		st.pol = &p
		return p, nil
	}
	if err != nil {
		return Policy{}, err
	}
	p, err := policies.decode(data)
	if err == nil {
		st.pol = &p
	}
	return p, err
}

// A policyCache keeps the last policy decoded, with its stored bytes: the
// write path asks for the policy in force once a record, and it changes
// only with a policy_set record. Like the lot cache it is no second source
// of truth: a policy is answered from it only for the very bytes it was
// decoded from. The policies it returns are shared and never modified.
type policyCache struct {
	mu  sync.Mutex
	raw []byte
	pol Policy
}

// policies is the package's policy cache: every ledger, replay and verify
// reads through it, each with its own bytes.
var policies policyCache

func (c *policyCache) decode(data []byte) (Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw != nil && bytes.Equal(c.raw, data) {
		return c.pol, nil
	}
	var p Policy
	if err := json.Unmarshal(data, &p); err != nil {
		return Policy{}, fault.Wrap(fault.Tampered, "stored state does not decode", fmt.Errorf("%s: %w", policyKey, err))
	}
	c.raw, c.pol = bytes.Clone(data), p
	return p, nil
}

// setPolicy records p as the policy in force.
func (st *state) setPolicy(p *Policy) error {
	if p == nil {
		return nil
	}
	st.pol = nil
	return st.put(policyKey, p)
}

// Policy returns the policy in force.
func (l *Ledger) Policy(ctx context.Context) (p Policy, err error) {
	err = l.view(ctx, func(st *state) error { p, err = st.policy(); return err })
	return p, err
}

func checkPolicySet(ev *Event, fe *fault.Fields) {
	if ev.Policy == nil {
		fe.Add("policy", "is required")
		return
	}
	ev.Policy.check(fe)
}

func preparePolicySet(st *state, p Principal, rec *Record) error {
	if p.Role != RoleAdmin {
		return fault.Errorf(fault.Forbidden, "only an admin key sets the policy")
	}
	return nil
}

func applyPolicySet(st *state, rec *Record, fx *effects) error {
	return st.setPolicy(rec.Policy)
}

// partsMet says, for each part of cleared a lot's category needs, which
// record meets it (0: missing).
type PartStatus struct {
	Part     string `json:"part"`
	Met      bool   `json:"met"`
	Seq      int64  `json:"seq,omitempty"`
	Missing  string `json:"missing,omitempty"`
	Text     string `json:"text"`
	TextEn   string `json:"text_en"`
	Category string `json:"-"`
}

// describeParts returns the parts of cleared of lot l under policy p.
func describeParts(p Policy, l *Lot) []PartStatus {
	var out []PartStatus
	for _, part := range p.parts(l.Product.Category) {
		ps := PartStatus{Part: part, Text: PartText[part][0], TextEn: PartText[part][1]}
		if m := l.Clearance.mark(part); m != nil {
			ps.Met, ps.Seq = true, m.Seq
		} else {
			ps.Missing = fmt.Sprintf("缺少：%s / missing: %s", PartText[part][0], PartText[part][1])
		}
		out = append(out, ps)
	}
	return out
}

// A Clearance is what a lot has of the parts of cleared, by record (policy
// version 1; nil under version 0).
type Clearance struct {
	Papers       *Mark `json:"papers,omitempty"`
	Test         *Mark `json:"test,omitempty"`
	Disinfection *Mark `json:"disinfection,omitempty"`
	Release      *Mark `json:"release,omitempty"`
}

func (c *Clearance) mark(part string) *Mark {
	if c == nil {
		return nil
	}
	switch part {
	case PartPapers:
		return c.Papers
	case PartTest:
		return c.Test
	case PartDisinfection:
		return c.Disinfection
	case PartRelease:
		return c.Release
	}
	return nil
}

// clearedUnder reports whether every part the lot's category needs is met.
func clearedUnder(p Policy, l *Lot) bool {
	parts := p.parts(l.Product.Category)
	return len(parts) > 0 && !slices.ContainsFunc(parts, func(part string) bool { return l.Clearance.mark(part) == nil }) && !l.Status.Positive
}

func (c *Clearance) clone() *Clearance {
	if c == nil {
		return nil
	}
	return &Clearance{Papers: clonePtr(c.Papers), Test: clonePtr(c.Test), Disinfection: clonePtr(c.Disinfection), Release: clonePtr(c.Release)}
}

// judgeClearance gives lot l the part of cleared that the record being
// applied meets (policy version 1).
func (lt *lotTx) judgeClearance(l *Lot) error {
	pol, err := lt.st.policy()
	if err != nil || pol.Version < 1 || l == nil {
		return err
	}
	rec := lt.rec
	mark := &Mark{Seq: rec.Seq, At: rec.At, Result: rec.Result}
	c := l.Clearance
	if c == nil {
		c = &Clearance{}
	}
	switch rec.Kind {
	case Declared, DocumentsAdded:
		if c.Papers == nil && slices.Contains(l.Documents, DocQuarantineCertificate) && slices.Contains(l.Documents, DocCustomsDeclaration) {
			c.Papers = mark
		}
	case Tested:
		if rec.Result == "positive" {
			c.Test = nil
			break
		}
		ok, err := lt.qualifyingTest(l, pol)
		if err != nil {
			return err
		}
		if ok {
			c.Test = mark
		}
	case Disinfected:
		each := "each_piece"
		if l.Product.Category == CategoryNonColdChain {
			each = "container"
		}
		if slices.Contains(rec.Scope, each) && slices.Contains(rec.Scope, "outer_packaging") && carries(rec, DocDisinfectionCertificate) {
			c.Disinfection = mark
		}
	case Released:
		c.Release = mark
	}
	if *c == (Clearance{}) {
		c = nil
	}
	l.Clearance = c
	return nil
}

// qualifyingTest reports whether the tested record being applied counts as
// the test part of cleared for lot l: negative, of goods and packaging, with
// enough samples for the lot's size and its report, made after the goods
// arrived at their first station (not at the port yard).
func (lt *lotTx) qualifyingTest(l *Lot, pol Policy) (bool, error) {
	rec := lt.rec
	if rec.Result != "negative" || !slices.Contains(rec.Scope, "goods") || !slices.Contains(rec.Scope, "packaging") ||
		rec.Samples < pol.samplesFor(l.Quantity.Declared) || !carries(rec, DocTestReport) || l.Site == "" {
		return false, nil
	}
	site, err := lt.st.site(l.Site)
	if err != nil {
		return false, err
	}
	return site.Type != "port_yard", nil
}

// carries reports whether rec cites a document of type doc.
func carries(rec *Record, doc string) bool {
	return slices.ContainsFunc(rec.Attachments, func(a AttachmentRef) bool { return a.Type == doc })
}

// weakerClearance is what a product made of inputs a and b has of each
// part: none where either has none, else the older.
func weakerClearance(a, b *Clearance) *Clearance {
	if a == nil || b == nil {
		return nil
	}
	c := &Clearance{Papers: weakerMark(a.Papers, b.Papers), Test: weakerMark(a.Test, b.Test),
		Disinfection: weakerMark(a.Disinfection, b.Disinfection), Release: weakerMark(a.Release, b.Release)}
	if *c == (Clearance{}) {
		return nil
	}
	return c
}
