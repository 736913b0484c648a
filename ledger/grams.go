package ledger

// The gram buckets. Every answer that says where grams are embeds one of
// these, so that the buckets, their JSON names and their order are written
// once.

// Gone is what left a lot for good: sold, consumed, destroyed, returned or
// recorded lost.
type Gone struct {
	Sold      int64 `json:"sold"`
	Consumed  int64 `json:"consumed"`
	Destroyed int64 `json:"destroyed"`
	Returned  int64 `json:"returned"`
	Lost      int64 `json:"lost"`
}

// Outcome is where grams are: still held, on the road, or gone for good.
type Outcome struct {
	OnHand    int64 `json:"on_hand"`
	InTransit int64 `json:"in_transit"`
	Gone
}

// LotQuantity accounts for every gram of a lot:
// Declared = OnHand + InTransit + Sold + Consumed + Destroyed + Returned +
// Lost + Split + Transformed.
type LotQuantity struct {
	Declared int64 `json:"declared"`
	Outcome
	Split       int64 `json:"split"`       // shipped off as child lots
	Transformed int64 `json:"transformed"` // processed into other lots
}

func (g Gone) zero() bool { return g == Gone{} }

// total returns the grams gone, over all buckets.
func (g Gone) total() int64 { return g.Sold + g.Consumed + g.Destroyed + g.Returned + g.Lost }

// add adds sign times x.
func (g *Gone) add(x Gone, sign int64) {
	g.Sold += sign * x.Sold
	g.Consumed += sign * x.Consumed
	g.Destroyed += sign * x.Destroyed
	g.Returned += sign * x.Returned
	g.Lost += sign * x.Lost
}

// add adds sign times x.
func (o *Outcome) add(x Outcome, sign int64) {
	o.OnHand += sign * x.OnHand
	o.InTransit += sign * x.InTransit
	o.Gone.add(x.Gone, sign)
}

// add adds sign times x.
func (q *LotQuantity) add(x LotQuantity, sign int64) {
	q.Declared += sign * x.Declared
	q.Outcome.add(x.Outcome, sign)
	q.Split += sign * x.Split
	q.Transformed += sign * x.Transformed
}

// Accounted returns the sum of all buckets except Declared.
func (q LotQuantity) Accounted() int64 {
	return q.OnHand + q.InTransit + q.Gone.total() + q.Split + q.Transformed
}

// Terminal returns the grams that reached an end: sold, consumed, destroyed,
// returned or recorded lost.
func (q LotQuantity) Terminal() int64 { return q.Gone.total() }
