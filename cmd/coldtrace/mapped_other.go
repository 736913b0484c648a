//go:build !linux

package main

import "time"

// dropMappedPages does nothing here: it unmaps badger's file pages on
// Linux only (mapped_linux.go).
func dropMappedPages(time.Duration, bool, ...string) (stop func()) { return func() {} }
