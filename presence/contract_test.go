package presence

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// The contract every Store keeps, run against Local and NATS (one node).
// newStore returns a started-nowhere store whose members have Node node.

func TestLocalContract(t *testing.T) {
	testStoreContract(t, func(t *testing.T) (Store, string) {
		l := NewLocal()
		t.Cleanup(func() { _ = l.Close() })
		return l, "solo"
	})
}

func TestNATSContract(t *testing.T) {
	testStoreContract(t, func(t *testing.T) (Store, string) {
		srv := startJetStream(t)
		n, _ := newNode(t, srv.ClientURL(), "a")
		return n, "a"
	})
}

func testStoreContract(t *testing.T, newStore func(t *testing.T) (Store, string)) {
	t.Run("JoinListCountLeave", func(t *testing.T) {
		t.Parallel()
		s, node := newStore(t)
		ctx := context.Background()
		m0, m1, m2 := member(node, 0, "ann"), member(node, 1, ""), member(node, 2, "bob")
		s.Join("room.1", m2)
		s.Join("room.1", m0)
		s.Join("room.1", m1)
		s.Join("room.1", m1) // twice: a no-op
		s.Join("room.2", m0)
		s.Join("room.3", Member{Conn: m0.Conn, Node: node}) // no Joined: Join sets it
		settle(t, s)
		if got := count(t, s, "room.1"); got != 3 {
			t.Fatalf("Count(room.1) = %d, want 3", got)
		}
		p, err := s.List(ctx, "room.1", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []Member{m0, m1, m2}; !slices.EqualFunc(p.Members, want, sameMember) || p.Next != "" {
			t.Fatalf("List(room.1) = %+v, want %+v and no next", p, want)
		}
		s.Leave("room.1", Member{Conn: m1.Conn}) // only Conn counts
		s.Leave("room.1", m1)                    // twice: a no-op
		s.Leave("room.9", m0)                    // never joined: a no-op
		settle(t, s)
		if got := listAll(t, s, "room.1", 10); !slices.Equal(got, []string{m0.Conn, m2.Conn}) {
			t.Fatalf("after a leave, room.1 holds %q", got)
		}
		if got := count(t, s, "room.2"); got != 1 {
			t.Fatalf("Count(room.2) = %d, want 1", got)
		}
		if p, err := s.List(ctx, "room.3", "", 1); err != nil || len(p.Members) != 1 || !joinedRecently(p.Members[0].Joined) {
			t.Fatalf("List(room.3) = %+v, %v; want a member joined just now", p, err)
		}
		if got := count(t, s, "empty"); got != 0 {
			t.Fatalf("Count(empty) = %d, want 0", got)
		}
		st := s.Stats()
		if st.Members != 4 || st.Joins != 5 || st.Leaves != 1 {
			t.Fatalf("Stats = %+v, want 4 members, 5 joins, 1 leave", st)
		}
	})

	t.Run("Paginate", func(t *testing.T) {
		t.Parallel()
		s, node := newStore(t)
		var want []string
		for i := range 25 {
			m := member(node, (i*7)%25, "") // not in Conn order
			s.Join("room", m)
		}
		for i := range 25 {
			want = append(want, member(node, i, "").Conn)
		}
		settle(t, s)
		for _, limit := range []int{1, 10, 24, 25, 26, MaxLimit} {
			if got := listAll(t, s, "room", limit); !slices.Equal(got, want) {
				t.Fatalf("paging by %d: got %q, want %q", limit, got, want)
			}
		}
		p, err := s.List(context.Background(), "room", want[9], 10)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(conns(p), want[10:20]) || p.Next != want[19] {
			t.Fatalf("List(after %s, 10) = %q next %q", want[9], conns(p), p.Next)
		}
		p, err = s.List(context.Background(), "room", want[24], 10)
		if err != nil || len(p.Members) != 0 || p.Members == nil || p.Next != "" {
			t.Fatalf("List after the last = %+v, %v; want an empty (non-nil) page", p, err)
		}
	})

	t.Run("EventsOfWatchedChannelsInOrder", func(t *testing.T) {
		t.Parallel()
		s, node := newStore(t)
		var rec recorder
		if err := s.Start(rec.record); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(rec.record); !errors.Is(err, ErrStarted) {
			t.Fatalf("second Start: %v, want ErrStarted", err)
		}
		s.Watch("watched")
		settle(t, s)
		var want []string
		for i := range 20 {
			m := member(node, i, fmt.Sprint("user", i))
			s.Join("watched", m)
			s.Join("unwatched", m)
			want = append(want, "+"+m.Conn)
			if i%3 == 0 {
				s.Leave("watched", m)
				s.Leave("unwatched", m)
				want = append(want, "-"+m.Conn)
			}
		}
		waitEvents(t, &rec, "watched", want)
		s.Unwatch("watched")
		settle(t, s)
		s.Join("watched", member(node, 99, ""))
		s.Watch("late")
		settle(t, s)
		s.Join("late", member(node, 98, ""))
		waitEvents(t, &rec, "late", []string{"+" + member(node, 98, "").Conn})
		if got := rec.on("unwatched"); len(got) != 0 {
			t.Fatalf("events of an unwatched channel: %q", got)
		}
		if got := rec.on("watched"); !slices.Equal(got, want) {
			t.Fatalf("events of watched after Unwatch: %q", got[len(want):])
		}
		for _, ev := range rec.all() {
			if ev.Join && ev.Member.User == "" && ev.Channel == "watched" {
				t.Fatalf("a join event without its user: %+v", ev)
			}
			if !ev.Join && ev.Member.User == "" && ev.Channel == "watched" {
				t.Fatalf("a leave event without the member as it joined: %+v", ev)
			}
		}
		if st := s.Stats(); st.Events != int64(len(want)+1) || st.Watches != 1 {
			t.Fatalf("Stats = %+v, want %d events and 1 watch", st, len(want)+1)
		}
	})

	t.Run("RefusesInvalid", func(t *testing.T) {
		t.Parallel()
		s, node := newStore(t)
		good := member(node, 1, "")
		long := member(node, 2, string(make([]byte, MaxUserLen+1)))
		bad := []struct {
			channel string
			m       Member
		}{
			{"", good},
			{"a..b", good},
			{"a b", good},
			{string(make([]byte, MaxChannelLen+1)), good},
			{"room", Member{Conn: node + ".xyz", Node: node}},
			{"room", Member{Conn: node + "." + fmt.Sprintf("%032X", 10), Node: node}},
			{"room", Member{Conn: "other." + fmt.Sprintf("%032x", 10), Node: node}},
			{"room", long},
		}
		for _, b := range bad {
			s.Join(b.channel, b.m)
		}
		if st := s.Stats(); st.Errors != int64(len(bad)) || st.Joins != 0 {
			t.Fatalf("Stats = %+v, want %d errors and no join", st, len(bad))
		}
		ctx := context.Background()
		for _, limit := range []int{0, -1, MaxLimit + 1} {
			if _, err := s.List(ctx, "room", "", limit); !errors.Is(err, ErrLimit) {
				t.Fatalf("List(limit %d): %v, want ErrLimit", limit, err)
			}
		}
		if _, err := s.List(ctx, "a:b@c..d", "", 1); !errors.Is(err, ErrChannel) {
			t.Fatalf("List(bad channel): %v, want ErrChannel", err)
		}
		if _, err := s.Count(ctx, ""); !errors.Is(err, ErrChannel) {
			t.Fatalf("Count(\"\"): %v, want ErrChannel", err)
		}
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.List(canceled, "room", "", 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("List(canceled): %v", err)
		}
	})

	t.Run("ChannelNamesWithEveryByte", func(t *testing.T) {
		t.Parallel()
		s, node := newStore(t)
		channels := []string{"a", "chat.room.42", "user:ann@example", "x-y_z.1:2@3", string(slices.Repeat([]byte{'a'}, MaxChannelLen))}
		for i, ch := range channels {
			s.Join(ch, member(node, i, ""))
		}
		settle(t, s)
		for i, ch := range channels {
			if got := listAll(t, s, ch, 10); !slices.Equal(got, []string{member(node, i, "").Conn}) {
				t.Fatalf("channel %q holds %q", ch, got)
			}
		}
	})

	t.Run("Closed", func(t *testing.T) {
		t.Parallel()
		s, node := newStore(t)
		s.Join("room", member(node, 1, ""))
		settle(t, s)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		s.Join("room", member(node, 2, "")) // ignored, and no panic
		s.Leave("room", member(node, 1, ""))
		if _, err := s.List(context.Background(), "room", "", 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("List after Close: %v, want ErrClosed", err)
		}
		if err := s.Start(func(Event) {}); !errors.Is(err, ErrClosed) {
			t.Fatalf("Start after Close: %v, want ErrClosed", err)
		}
	})
}

// sameMember compares members, their times as instants.
func sameMember(a, b Member) bool {
	return a.Conn == b.Conn && a.User == b.User && a.Node == b.Node && a.Joined.Equal(b.Joined)
}

// joinedRecently reports whether t is within the last minute: a zero
// Joined is set by Join.
func joinedRecently(t time.Time) bool { return time.Since(t) < time.Minute && !t.IsZero() }
