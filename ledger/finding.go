package ledger

import "time"

// A Finding is a policy violation the ledger judged while recording an event:
// the record is kept and the finding stays open until a regulator closes it.
type Finding struct {
	ID       string    `json:"id"`
	Rule     string    `json:"rule"`
	Lot      string    `json:"lot,omitempty"`
	Site     string    `json:"site,omitempty"`
	Seq      int64     `json:"seq"`
	Open     bool      `json:"open"`
	OpenedAt time.Time `json:"opened_at"`
	Detail   string    `json:"detail"`
}
