package vlog

import (
	"golang.org/x/mod/sumdb/tlog"
)

// An InclusionProof proves that a record is in the tree of a given size.
type InclusionProof struct {
	Seq        int64
	Size       int64
	RecordHash tlog.Hash
	Root       tlog.Hash
	Proof      tlog.RecordProof
}

// ProveRecord proves record seq in the tree of size records (seq < size),
// reading the tree's stored hashes through hr: HashReader(tx) or a
// HashCache's Reader.
func ProveRecord(hr tlog.HashReader, seq, size int64) (*InclusionProof, error) {
	p := &InclusionProof{Seq: seq, Size: size}
	// The record's hash is its leaf, stored with the tree: reading it
	// there spares a read of the record, which lies far from the hashes
	// (verify checks every leaf against its record).
	leaf, err := hr.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
	if err != nil {
		return nil, err
	}
	p.RecordHash = leaf[0]
	if p.Proof, err = tlog.ProveRecord(size, seq, hr); err != nil {
		return nil, err
	}
	if p.Root, err = tlog.TreeHash(size, hr); err != nil {
		return nil, err
	}
	return p, nil
}

// A ConsistencyProof proves that the tree of size From is a prefix of the
// tree of size To.
type ConsistencyProof struct {
	From, To         int64
	FromRoot, ToRoot tlog.Hash
	Proof            tlog.TreeProof
}

// ProveTree proves the tree of size from a prefix of the tree of size to
// (0 < from <= to), reading the stored hashes of the tree of size to
// through hr: HashReader(tx) or a HashCache's Reader.
func ProveTree(hr tlog.HashReader, from, to int64) (*ConsistencyProof, error) {
	p := &ConsistencyProof{From: from, To: to}
	var err error
	if p.Proof, err = tlog.ProveTree(to, from, hr); err != nil {
		return nil, err
	}
	if p.FromRoot, err = tlog.TreeHash(from, hr); err != nil {
		return nil, err
	}
	if p.ToRoot, err = tlog.TreeHash(to, hr); err != nil {
		return nil, err
	}
	return p, nil
}
