package kv

import "sync"

// InParts calls fn(lo, hi) for contiguous ranges that cover [0, n), each
// in a goroutine of its own: at most parts ranges, none shorter than
// minPart items (a small n is one call on the caller's goroutine). It returns the error of the first range that failed. The
// ranges run concurrently: what fn touches must allow it (a View's Tx
// scans from several goroutines at once, see Tx).
func InParts(n, minPart, parts int, fn func(lo, hi int) error) error {
	parts = min(parts, n/max(minPart, 1))
	if parts <= 1 {
		return fn(0, n)
	}
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() { errs[p] = fn(p*n/parts, (p+1)*n/parts) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
