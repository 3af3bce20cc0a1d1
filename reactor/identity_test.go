package reactor

import (
	"strings"
	"testing"
)

// An ID round-trips to its descriptor and generation; another node's key,
// another node's name, or any change to the ID is refused.
func TestConnIDs(t *testing.T) {
	a, b := newConnIDs("n-1"), newConnIDs("n-1")
	var scratch []byte
	id := a.format(&scratch, 70000, 12345)
	if !strings.HasPrefix(id, "n-1.") || len(id) != len("n-1.")+idHexLen || NodeOf(id) != "n-1" {
		t.Fatalf("id %q", id)
	}
	if fd, gen, ok := a.parse(id); !ok || fd != 70000 || gen != 12345 {
		t.Fatalf("parse: %d %d %v", fd, gen, ok)
	}
	if _, _, ok := b.parse(id); ok {
		t.Fatal("another node's key took the ID")
	}
	for i := len("n-1."); i < len(id); i++ {
		c := byte('0')
		if id[i] == '0' {
			c = '1'
		}
		if _, _, ok := a.parse(id[:i] + string(c) + id[i+1:]); ok {
			t.Fatalf("a changed digit %d was taken", i)
		}
	}
	if id2 := a.format(&scratch, 70000, 12346); id2 == id || id2[4:8] == id[4:8] {
		t.Fatalf("the next generation's ID %q looks like %q", id2, id)
	}
}

// FuzzConnIDParse: parse never panics, takes only what format made, and
// NodeOf never panics.
func FuzzConnIDParse(f *testing.F) {
	ids := newConnIDs("node")
	var scratch []byte
	f.Add(ids.format(&scratch, 3, 1))
	f.Add("node." + strings.Repeat("0", idHexLen))
	f.Add("node.")
	f.Add(".")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, id string) {
		_ = NodeOf(id)
		fd, gen, ok := ids.parse(id)
		if ok && ids.format(&scratch, fd, gen) != strings.ToLower(id) {
			t.Fatalf("%q parsed to %d %d, which formats differently", id, fd, gen)
		}
	})
}

// The fd table finds what it stores, forgets only its own entry, and
// refuses descriptors past its end.
func TestFDTable(t *testing.T) {
	var tbl fdTable
	c1, c2 := &conn{}, &conn{}
	if !tbl.store(5, c1) || tbl.load(5) != c1 || tbl.load(6) != nil || tbl.load(1<<30) != nil || tbl.load(-1) != nil {
		t.Fatal("store/load")
	}
	tbl.forget(5, c2)
	if tbl.load(5) != c1 {
		t.Fatal("forgot another connection's entry")
	}
	tbl.forget(5, c1)
	if tbl.load(5) != nil || tbl.store(fdChunk*maxFDChunks, c1) {
		t.Fatal("forget, or a descriptor past the table")
	}
}
