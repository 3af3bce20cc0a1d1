package relay

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/wsgate/wsgate/wire"
)

// TestPubQueueFIFO pushes and drops publications of random sizes (some
// larger than a chunk, so they get a mapping of their own) against a model
// slice: what front returns is always the model's head, byte for byte,
// across chunk boundaries, rewinds and the spare's reuse, and the charge
// and count return to zero.
func TestPubQueueFIFO(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	q := newPubQueue(1<<20, 64<<20)
	defer q.free()
	type want struct{ subject, data, msgID string }
	var model []want
	next := 0
	push := func() {
		size := rng.IntN(2000)
		if rng.IntN(50) == 0 {
			size = chunkSize + rng.IntN(3*chunkSize)
		}
		data := bytes.Repeat([]byte{byte(next)}, size)
		channel, msgID := fmt.Sprintf("ch%d", next), ""
		if next%3 == 0 {
			msgID = fmt.Sprintf("id-%d", next)
		}
		next++
		if got := q.push("p", channel, data, msgID); got != pushed {
			t.Fatalf("push #%d: %v", next, got)
		}
		model = append(model, want{"p." + channel, string(data), msgID})
	}
	buf := make([]publication, 0, 16)
	for round := range 2000 {
		for range rng.IntN(20) {
			push()
		}
		buf = q.front(buf)
		if want := min(len(model), cap(buf)); len(buf) != want {
			t.Fatalf("round %d: front gave %d publications, want %d", round, len(buf), want)
		}
		for i, p := range buf {
			if m := model[i]; p.subject != m.subject || string(p.data) != m.data || p.msgID != m.msgID {
				t.Fatalf("round %d: front[%d] = %q (%d bytes) %q, want %q (%d bytes) %q",
					round, i, p.subject, len(p.data), p.msgID, m.subject, len(m.data), m.msgID)
			}
		}
		n := rng.IntN(len(buf) + 1)
		clear(buf) // as the bus goroutine does: no view outlives its drop
		if round%100 == 99 {
			n = len(model) // empty it: the queue rewinds
		}
		msgs, _ := q.drop(n)
		model = model[msgs:]
		if msgs != min(n, msgs+len(model)) {
			t.Fatalf("round %d: drop(%d) dropped %d", round, n, msgs)
		}
		if m, _ := q.size(); m != len(model) {
			t.Fatalf("round %d: size %d, model %d", round, m, len(model))
		}
	}
	q.drop(len(model))
	if msgs, bytes := q.size(); msgs != 0 || bytes != 0 {
		t.Errorf("empty queue: size() = %d, %d", msgs, bytes)
	}
	if q.head != nil && (q.head.next != nil || q.tail != q.head || len(q.head.mem) != chunkSize) {
		t.Errorf("an empty queue should hold at most one chunk, of the usual size")
	}
}

// TestPubQueueLetsGoOfLargeChunks: a publication larger than a chunk gets
// a mapping of its own, which the queue does not keep once it is empty.
func TestPubQueueLetsGoOfLargeChunks(t *testing.T) {
	q := newPubQueue(10, 64<<20)
	defer q.free()
	if q.push("p", "big", make([]byte, 4*chunkSize), "") != pushed {
		t.Fatal("push")
	}
	q.drop(1)
	if q.push("p", "small", []byte("1"), "") != pushed {
		t.Fatal("push")
	}
	q.drop(1)
	for c := q.head; c != nil; c = c.next {
		if len(c.mem) != chunkSize {
			t.Errorf("an idle queue keeps a %d-byte mapping", len(c.mem))
		}
	}
	if q.spare != nil && len(q.spare.mem) != chunkSize {
		t.Errorf("the spare is a %d-byte mapping", len(q.spare.mem))
	}
}

// TestPubQueueBounds: push refuses past either bound and after shut, and
// a free queue refuses nothing it did not before.
func TestPubQueueBounds(t *testing.T) {
	q := newPubQueue(2, 1000)
	defer q.free()
	if q.push("p", "a", make([]byte, 1000), "") != queueFull {
		t.Error("a publication over the byte bound was taken")
	}
	for i := range 2 {
		if got := q.push("p", "a", nil, ""); got != pushed {
			t.Fatalf("push %d: %v", i, got)
		}
	}
	if q.push("p", "a", nil, "") != queueFull {
		t.Error("a publication over the count bound was taken")
	}
	q.drop(1)
	q.shut()
	if q.push("p", "a", nil, "") != queueShut {
		t.Error("a shut queue took a publication")
	}
	if msgs, bytes := q.size(); msgs != 1 || bytes != cost(3, 0, 0) {
		t.Errorf("size() = %d, %d; want 1, %d", msgs, bytes, cost(3, 0, 0))
	}
}

// TestPubQueueResidentWithinCharge fills a queue with the default bounds
// until it refuses, with the publications that cost it most per byte of
// data (one byte on a 255-byte channel) and with larger ones, and counts
// the pages of its mappings that are resident (mincore): what the queue
// holds costs the node at most what it is charged.
func TestPubQueueResidentWithinCharge(t *testing.T) {
	for _, tc := range []struct {
		name    string
		channel string
		data    int
	}{
		{"255-byte channel, 1-byte data", strings.Repeat("c", wire.MaxChannelLength), 1},
		{"20-byte channel, 1000-byte data", strings.Repeat("c", 20), 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newPubQueue(DefaultPublishBufferMsgs, DefaultPublishBuffer)
			defer q.free()
			data := bytes.Repeat([]byte("x"), tc.data)
			for q.push("wsgate.ch", tc.channel, data, "") == pushed {
			}
			msgs, charged := q.size()
			resident := 0
			page := os.Getpagesize()
			for c := q.head; c != nil; c = c.next {
				vec := make([]byte, (len(c.mem)+page-1)/page)
				if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&c.mem[0])), uintptr(len(c.mem)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
					t.Fatal(errno)
				}
				for _, v := range vec {
					resident += int(v&1) * page
				}
			}
			t.Logf("%d publications, charged %d bytes, %d resident: %.2f of the charge", msgs, charged, resident, float64(resident)/float64(charged))
			if resident > charged || resident < charged/4 {
				t.Errorf("%d bytes resident for %d charged: want at most the charge (and the bytes written)", resident, charged)
			}
		})
	}
}
