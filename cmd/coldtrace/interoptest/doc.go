// Package interoptest checks coldtrace's log from the outside: its test talks
// to a running coldtrace only over HTTP and checks every proof and checkpoint
// with the stock golang.org/x/mod/sumdb verifiers, importing no coldtrace
// package.
package interoptest
