// Package ident validates the identifiers users type and makes the trace
// codes of lots: unified social credit codes (GB 32100), container numbers
// (ISO 6346), vehicle plates, customs declaration numbers, HS codes, region
// codes (GB/T 2260), country codes (ISO 3166) and the Crockford trace code.
// No maintained Go library validates them; the rules are in the GB and ISO
// standards cited at each function. It imports only the standard library.
package ident
