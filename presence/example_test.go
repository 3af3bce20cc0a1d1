package presence_test

import (
	"context"
	"fmt"

	"github.com/wsgate/wsgate/presence"
)

// A single node's presence: members joined from the event loops, a
// watched channel's events, and a page of the channel for the admin API.
func ExampleLocal() {
	store := presence.NewLocal()
	defer store.Close()
	events := make(chan presence.Event, 8)
	if err := store.Start(func(ev presence.Event) { events <- ev }); err != nil {
		panic(err)
	}
	store.Watch("chat.room.42") // its first presence subscriber appeared

	ann := presence.Member{Conn: "n1.0123456789abcdef0123456789abcdef", User: "ann", Node: "n1"}
	bob := presence.Member{Conn: "n1.fedcba9876543210fedcba9876543210", User: "bob", Node: "n1"}
	store.Join("chat.room.42", ann)
	store.Join("chat.room.42", bob)
	store.Leave("chat.room.42", ann)
	for range 3 {
		ev := <-events
		fmt.Println(ev.Channel, ev.Join, ev.Member.User)
	}

	page, err := store.List(context.Background(), "chat.room.42", "", 100)
	if err != nil {
		panic(err)
	}
	for _, m := range page.Members {
		fmt.Println("member:", m.User)
	}
	// Output:
	// chat.room.42 true ann
	// chat.room.42 true bob
	// chat.room.42 false ann
	// member: bob
}
