package reactor

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"sync"
	"sync/atomic"
)

// Connection IDs name a /ws connection to the backend (the control API,
// hooks, presence): "<node>.<32 hex digits>", the node's ID, then one
// AES block, under a key the node draws at start, holding the
// connection's descriptor, a generation and 64 zero bits. The node keeps
// no map from IDs to connections: the descriptor finds the connection in
// fdTable, and the generation tells it from an earlier connection on the
// same descriptor. The cipher hides both (an ID says nothing of the
// node's load or of its other connections), and the zero bits make an ID
// unforgeable: a guess decrypts to them once in 2^64.
const idHexLen = 32

// connIDs issues and resolves the node's connection IDs.
type connIDs struct {
	node  string
	block cipher.Block // AES-128: safe for concurrent use
	gen   atomic.Uint32
	conns fdTable
}

func newConnIDs(node string) *connIDs {
	key := make([]byte, 16)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	return &connIDs{node: node, block: block}
}

// format returns the ID of the connection on fd with generation gen,
// built in scratch (which it keeps for the next).
func (ids *connIDs) format(scratch *[]byte, fd int, gen uint32) string {
	var plain, sealed [aes.BlockSize]byte
	binary.BigEndian.PutUint32(plain[:4], uint32(fd))
	binary.BigEndian.PutUint32(plain[4:8], gen)
	ids.block.Encrypt(sealed[:], plain[:])
	b := append((*scratch)[:0], ids.node...)
	b = append(b, '.')
	b = hex.AppendEncode(b, sealed[:])
	*scratch = b
	return string(b)
}

// parse returns the descriptor and generation id names; ok is false for
// an ID of another node, a malformed one or a forged one. Any goroutine.
func (ids *connIDs) parse(id string) (fd int, gen uint32, ok bool) {
	i := strings.LastIndexByte(id, '.')
	if i < 0 || id[:i] != ids.node || len(id)-i-1 != idHexLen {
		return 0, 0, false
	}
	var sealed, plain [aes.BlockSize]byte
	if _, err := hex.Decode(sealed[:], []byte(id[i+1:])); err != nil {
		return 0, 0, false
	}
	ids.block.Decrypt(plain[:], sealed[:])
	if binary.BigEndian.Uint64(plain[8:]) != 0 {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint32(plain[:4])), binary.BigEndian.Uint32(plain[4:8]), true
}

// ValidNodeID reports whether id can name a node: 1-64 ASCII letters,
// digits, '_' and '-', so that it is one token of a NATS subject and a
// connection ID splits at its last dot.
func ValidNodeID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NodeOf returns the node an ID names ("" when id has no node part): the
// control API routes a request by it.
func NodeOf(id string) string {
	i := strings.LastIndexByte(id, '.')
	if i < 0 {
		return ""
	}
	return id[:i]
}

// fdTable finds the open /ws connection on a descriptor: chunks of
// fdChunk atomic pointers, allocated as descriptors grow, so the cost is
// one pointer per descriptor in use and readers on any goroutine take no
// lock. Only the connection's loop stores its entry.
type fdTable struct {
	mu     sync.Mutex // serialises chunk allocation
	chunks [maxFDChunks]atomic.Pointer[[fdChunk]atomic.Pointer[conn]]
}

const (
	fdChunk     = 4096
	maxFDChunks = 1 << 12 // descriptors below 16M: the kernel's nr_open ceiling is 2^30, but no host holds more sockets than this
)

func (t *fdTable) slot(fd int, grow bool) *atomic.Pointer[conn] {
	if fd < 0 || fd >= fdChunk*maxFDChunks {
		return nil
	}
	chunk := t.chunks[fd/fdChunk].Load()
	if chunk == nil {
		if !grow {
			return nil
		}
		t.mu.Lock()
		if chunk = t.chunks[fd/fdChunk].Load(); chunk == nil {
			chunk = new([fdChunk]atomic.Pointer[conn])
			t.chunks[fd/fdChunk].Store(chunk)
		}
		t.mu.Unlock()
	}
	return &chunk[fd%fdChunk]
}

// store records c as the connection on fd. It reports false for a
// descriptor past the table (the connection then has no usable ID).
func (t *fdTable) store(fd int, c *conn) bool {
	s := t.slot(fd, true)
	if s == nil {
		return false
	}
	s.Store(c)
	return true
}

// forget clears fd's entry if it still holds c.
func (t *fdTable) forget(fd int, c *conn) {
	if s := t.slot(fd, false); s != nil {
		s.CompareAndSwap(c, nil)
	}
}

// load returns the connection on fd, or nil.
func (t *fdTable) load(fd int) *conn {
	if s := t.slot(fd, false); s != nil {
		return s.Load()
	}
	return nil
}

// users indexes the node's connections by user, for the control API's
// per-user operations. Only connections with a user are in it.
type users struct {
	mu sync.Mutex
	m  map[string][]*conn
}

func (u *users) add(name string, c *conn) {
	u.mu.Lock()
	if u.m == nil {
		u.m = make(map[string][]*conn)
	}
	u.m[name] = append(u.m[name], c)
	u.mu.Unlock()
}

func (u *users) remove(name string, c *conn) {
	u.mu.Lock()
	defer u.mu.Unlock()
	list := u.m[name]
	for i, x := range list {
		if x == c {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(u.m, name)
	} else {
		u.m[name] = list
	}
}

// of returns up to limit of user's connections and how many there are.
func (u *users) of(name string, limit int) ([]*conn, int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	list := u.m[name]
	return append([]*conn(nil), list[:min(len(list), limit)]...), len(list)
}

// user is the connection's user: its token's subject, or the one the
// connect hook named; "" for an anonymous connection.
func (c *conn) user() string {
	if c.claims == nil {
		return ""
	}
	return c.claims.Subject
}

// identify gives c its connection ID, once, and indexes it by
// descriptor; it returns the ID ("" when the descriptor is past the
// table). The connect hook learns the ID before the upgrade; greet
// indexes c by user once the hook has had its say.
func (c *conn) identify() string {
	l := c.loop
	e := l.eng
	if c.gen == 0 {
		for c.gen == 0 {
			c.gen = e.ids.gen.Add(1)
		}
		if !e.ids.conns.store(c.gc.Fd(), c) {
			return ""
		}
	}
	return e.ids.format(&l.idBuf, c.gc.Fd(), c.gen)
}

// unidentify undoes identify and greet when c closes, telling the
// backend's hooks it is gone.
func (c *conn) unidentify() {
	if c.gen == 0 {
		return
	}
	e := c.loop.eng
	e.ids.conns.forget(c.gc.Fd(), c)
	if c.since == 0 {
		return // never greeted
	}
	if u := c.user(); u != "" {
		e.users.remove(u, c)
	}
	c.hookEvent("disconnect", "")
}
