package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// BenchAttestation measures the store's whole part in one accepted
// attestation on s, with records of the sizes the DAA writes: PutNonce for
// the challenge, GetDevice for the verifier, and RecordAttestation with a
// certificate of about 650 bytes. The fleet is 2,000 claimed devices with
// 128-character IDs, and 32 clients per GOMAXPROCS attest them in turn. It
// reports attestations a second and the process's CPU time per attestation
// (cpu-µs/op, where the system tells), which on SQLite is the store's whole
// cost and on PostgreSQL the client's alone.
func BenchAttestation(b *testing.B, s store.Store) {
	ctx := b.Context()
	const fleet = 2000
	ids := make([]string, fleet)
	for i := range ids {
		ids[i] = fmt.Sprintf("%0128x", i+1)
	}
	if _, err := s.RegisterDevices(ctx, ids, t0); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateTenant(ctx, store.Tenant{ID: "t-bench", Name: "bench",
		CreatedAt: t0}); err != nil {
		b.Fatal(err)
	}
	for _, id := range ids {
		if _, err := s.ClaimDevice(ctx, id, "t-bench", t0); err != nil {
			b.Fatal(err)
		}
	}
	der := bytes.Repeat([]byte{0x30}, 650)
	software := strings.Repeat(`{"name":"stage","version":"1.2.3","svn":4,"digest":"`+
		strings.Repeat("ab", 32)+`","verdict":"affirming"},`, 3)
	var next atomic.Uint64
	b.SetParallelism(32)
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchAttest(ctx, s, ids[next.Add(1)%fleet], der, software); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "attestations/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	}
}

// benchAttest runs one attestation's store work for the device id.
func benchAttest(ctx context.Context, s store.Store, id string, der []byte,
	software string) error {
	now := time.Now()
	n := store.Nonce{Value: make([]byte, 32), DeviceID: id, CreatedAt: now,
		ExpiresAt: now.Add(time.Minute)}
	serial := make([]byte, 16)
	_, _ = rand.Read(n.Value)
	_, _ = rand.Read(serial)
	serial[0] &= 0x7f
	if err := s.PutNonce(ctx, n); err != nil {
		return err
	}
	dev, err := s.GetDevice(ctx, id)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(der)
	c := store.Cert{IssuerID: "ca-bench", Serial: serial, Kind: store.CertDevice,
		Subject: id, DeviceID: id, TenantID: dev.TenantID, NotBefore: now,
		NotAfter: now.Add(24 * time.Hour), CertDER: der, CreatedAt: now}
	i := store.Issuance{IssuerID: "ca-bench", Serial: serial, TenantID: dev.TenantID,
		DeviceID: id, NotBefore: now, NotAfter: c.NotAfter, CertDigest: digest[:],
		EvidenceDigest: digest[:], Verdict: "affirming", CatalogueVersion: 1,
		Software: software, CreatedAt: now}
	_, err = s.RecordAttestation(ctx, store.Attestation{Nonce: n.Value, DeviceID: id,
		At: now, Cert: &c, Issuance: &i})
	return err
}
