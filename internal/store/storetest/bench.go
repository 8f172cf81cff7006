package storetest

import (
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/hallmark-project/hallmark/internal/store"
)

// BenchConsumeNonce measures the store's part in each attestation on s:
// "put+consume" puts a nonce, as a challenge does, then consumes it, as the
// attestation does; "consume" consumes nonces put beforehand. Each runs
// GOMAXPROCS clients in parallel, so -cpu sets how many race.
func BenchConsumeNonce(b *testing.B, s store.Store) {
	nonceDevices(b, s)
	var last atomic.Uint64
	next := func() store.Nonce {
		v := make([]byte, 32) // the DAA's nonce size
		binary.BigEndian.PutUint64(v, last.Add(1))
		return newNonce(string(v), "d-1")
	}
	consume := func(n store.Nonce) error {
		_, err := s.ConsumeNonce(b.Context(), n.Value, n.DeviceID, t0)
		return err
	}

	b.Run("put+consume", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n := next()
				if err := s.PutNonce(b.Context(), n); err != nil {
					b.Error(err)
					return
				}
				if err := consume(n); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})

	b.Run("consume", func(b *testing.B) {
		ns := make([]store.Nonce, b.N)
		for start := 0; start < b.N; start += 1000 {
			err := s.Tx(b.Context(), func(q store.Queries) error {
				for i := start; i < min(start+1000, b.N); i++ {
					ns[i] = next()
					if err := q.PutNonce(b.Context(), ns[i]); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		var taken atomic.Int64
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := consume(ns[taken.Add(1)-1]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
