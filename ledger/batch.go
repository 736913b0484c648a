package ledger

import "context"

// A Submission is one event of a batch and who submits it.
type Submission struct {
	Principal Principal
	Event     Event
	// Err, if set, is a problem the caller found (a line that did not
	// decode): the event is not submitted and its result carries Err.
	Err error
	// Idem, if set, is the line's Idempotency-Key; IdemScope, if set, binds
	// it to the whole batch (see batch_idem.go).
	Idem      string
	IdemScope []byte
}

// A BatchResult is the outcome of one event of a batch.
type BatchResult struct {
	Receipt *Receipt
	Err     error
}

// SubmitBatch records events in order, as if submitted one after another,
// but lets them share group commits.
func (l *Ledger) SubmitBatch(ctx context.Context, batch []Submission) []BatchResult {
	return l.QueueBatch(ctx, batch)()
}

// QueueBatch queues a batch like SubmitBatch and returns at once a wait
// that returns its results. A bulk load queues its next batch before it
// waits for the one before, so that the sequencer is never idle while the
// loader reads and decodes: batches queued one after another from one
// goroutine are recorded in that order.
func (l *Ledger) QueueBatch(ctx context.Context, batch []Submission) (wait func() []BatchResult) {
	out := make([]BatchResult, len(batch))
	subs := make([]*submission, len(batch))
	for i, b := range batch {
		if b.Err != nil {
			out[i].Err = b.Err
			continue
		}
		if err := checkDoor(b.Event.Kind, atBatch); err != nil {
			out[i].Err = err
			continue
		}
		s, err := l.newSubmission(b.Principal, b.Event, b.Idem)
		if err != nil {
			out[i].Err = err
			continue
		}
		b.bind(s)
		s.done = make(chan result, 1)
		subs[i] = s
	}
	// Queue all in order from this goroutine, so that the sequencer applies
	// them in order; wait then waits for each.
	for i, s := range subs {
		if s == nil {
			continue
		}
		if err := l.send(ctx, s); err != nil {
			out[i].Err, subs[i] = err, nil
		}
	}
	return func() []BatchResult {
		for i, s := range subs {
			if s != nil {
				r := l.wait(s)
				out[i] = BatchResult{Receipt: r.receipt, Err: r.err}
			}
		}
		return out
	}
}
