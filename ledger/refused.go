package ledger

import "errors"

// ErrRefused marks a Store.Update error returned before anything was
// written: the store declined the write (its disk is nearly full) and may
// accept the next one. The sequencer answers the group with the error and
// goes on, instead of stopping writes as it does after a failed commit;
// Update must not call fn when it returns ErrRefused, so that no checkpoint
// was signed for the group.
var ErrRefused = errors.New("the store refused the write before writing anything")
