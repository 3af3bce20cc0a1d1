package presence

import (
	"cmp"
	"slices"
)

// pageBuilder picks one page from members offered in any order: the limit
// smallest Conns greater than after, plus one more to know whether a next
// page exists. It keeps at most limit+1 members (a max-heap on Conn), so a
// page of a channel of any size costs O(limit) memory and O(n log limit)
// time.
type pageBuilder struct {
	after string
	limit int
	heap  []Member // max-heap on Conn, at most limit+1
}

func newPageBuilder(after string, limit int) *pageBuilder {
	return &pageBuilder{after: after, limit: limit, heap: make([]Member, 0, min(limit+1, 64))}
}

// wants reports whether a member with this conn would enter the page as
// it stands, so a caller can skip decoding the others.
func (b *pageBuilder) wants(conn string) bool {
	if conn <= b.after {
		return false
	}
	return len(b.heap) <= b.limit || conn < b.heap[0].Conn
}

// add offers m. The caller offers each Conn once.
func (b *pageBuilder) add(m Member) {
	if !b.wants(m.Conn) {
		return
	}
	if len(b.heap) <= b.limit {
		b.heap = append(b.heap, m)
		b.up(len(b.heap) - 1)
		return
	}
	b.heap[0] = m // replaces the largest
	b.down(0)
}

// page returns the chosen members sorted by Conn, and the cursor of the
// next page when more members than limit were offered.
func (b *pageBuilder) page() Page {
	members := b.heap
	slices.SortFunc(members, func(x, y Member) int { return cmp.Compare(x.Conn, y.Conn) })
	p := Page{Members: members}
	if len(members) > b.limit {
		p.Members = members[:b.limit]
		p.Next = p.Members[b.limit-1].Conn
	}
	return p
}

func (b *pageBuilder) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if b.heap[parent].Conn >= b.heap[i].Conn {
			return
		}
		b.heap[parent], b.heap[i] = b.heap[i], b.heap[parent]
		i = parent
	}
}

func (b *pageBuilder) down(i int) {
	for {
		largest, l, r := i, 2*i+1, 2*i+2
		if l < len(b.heap) && b.heap[l].Conn > b.heap[largest].Conn {
			largest = l
		}
		if r < len(b.heap) && b.heap[r].Conn > b.heap[largest].Conn {
			largest = r
		}
		if largest == i {
			return
		}
		b.heap[largest], b.heap[i] = b.heap[i], b.heap[largest]
		i = largest
	}
}
