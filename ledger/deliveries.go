package ledger

import (
	"context"

	"coldtrace/ledger/delivery"
)

// The deliveries of webhooks (outbox.go) and of EPCIS subscriptions
// (epcis_subscribe.go), as the delivery worker (package api) sees them. The
// machinery they share, queues, due index, attempts and retries, is
// ledger/delivery's; what is delivered to whom, and who may read it, is
// decided here.

// A Delivery is one finding event, or one batch of captured EPCIS events,
// on its way to one subscription.
type Delivery struct {
	Webhook   string `json:"webhook"`
	MessageID string `json:"message_id"`
	Type      string `json:"type"`
	Finding   string `json:"finding"`
	Seq       int64  `json:"seq"`
	delivery.State
	Seqs []int64 `json:"seqs,omitempty"` // the captured events of an EPCIS subscription's delivery
	key  []byte  // its ref in the queue: the outbox suffix, or the first seq
}

// DeliveryState is d's bookkeeping (delivery.Record).
func (d *Delivery) DeliveryState() *delivery.State { return &d.State }

// A DeliveryTask is a delivery due now: where to post what, signed with
// which secret.
type DeliveryTask struct {
	Delivery
	URL     string
	Secret  string
	Payload []byte
	// GS1 marks an EPCIS subscription's delivery (epcis_subscribe.go):
	// signed with GS1-Signature, Secret being its signatureToken.
	GS1 bool
}

// An Attempt is how one delivery attempt went.
type Attempt = delivery.Attempt

// DeliveryDone records an attempt of task: a 2xx delivers it, a 410 Gone
// disables the subscription, anything else is tried again at a.Next (or
// given up).
func (l *Ledger) DeliveryDone(ctx context.Context, t DeliveryTask, a Attempt) error {
	if t.GS1 {
		return l.epcisDeliveryDone(ctx, t, a)
	}
	return l.store.Update(ctx, func(tx Tx) error {
		d := t.Delivery
		return webhookQueue.Done(tx, t.Webhook, t.key, &d, a, &Webhook{})
	})
}
