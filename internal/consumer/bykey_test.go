package consumer_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/consumer"
)

func keyed(pairs ...string) []consumer.Message {
	var batch []consumer.Message
	for i := 0; i < len(pairs); i += 2 {
		batch = append(batch, consumer.Message{
			Message: message.NewMessage(pairs[i+1], []byte(pairs[i+1])),
			Key:     pairs[i], Offset: int64(i / 2),
		})
	}
	return batch
}

func TestByKeyRunsKeysConcurrentlyInOrderPerKey(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []string
	h := consumer.ByKey(4, func(_ context.Context, m consumer.Message) error {
		if m.UUID == "a1" {
			<-release // a slow message of key a holds only key a
		}
		mu.Lock()
		seen = append(seen, m.UUID)
		mu.Unlock()
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- h(context.Background(), keyed("a", "a1", "b", "b1", "a", "a2", "c", "c1", "b", "b2")) }()

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 3
	}, 10*time.Second, 5*time.Millisecond, "the other keys finish while a1 is slow")
	mu.Lock()
	require.ElementsMatch(t, []string{"b1", "b2", "c1"}, seen)
	require.Less(t, slices.Index(seen, "b1"), slices.Index(seen, "b2"))
	mu.Unlock()

	close(release)
	require.NoError(t, <-done)
	require.Equal(t, []string{"a1", "a2"}, []string{seen[3], seen[4]}, "a key's messages in offset order")
}

func TestByKeyStopsAFailingKeyAndReportsIt(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	boom := errors.New("boom")
	h := consumer.ByKey(1, func(_ context.Context, m consumer.Message) error {
		if m.UUID == "a1" {
			return boom
		}
		mu.Lock()
		seen = append(seen, m.UUID)
		mu.Unlock()
		return nil
	})
	err := h(context.Background(), keyed("a", "a1", "b", "b1", "a", "a2", "b", "b2"))
	require.ErrorIs(t, err, boom)
	require.Equal(t, []string{"b1", "b2"}, seen, "a2 waits behind a1; key b runs to its end")
}

func TestByKeyTurnsAPanicIntoTheMessagesError(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	h := consumer.ByKey(2, func(_ context.Context, m consumer.Message) error {
		if m.UUID == "a1" {
			var none map[string]int
			none["x"]++ // a bug in a handler
		}
		mu.Lock()
		seen = append(seen, m.UUID)
		mu.Unlock()
		return nil
	})
	err := h(context.Background(), keyed("a", "a1", "b", "b1", "a", "a2"))
	require.ErrorContains(t, err, "panic handling message a1")
	require.Equal(t, []string{"b1"}, seen)
}
