package nonce_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/hallmark-project/hallmark/internal/nonce"
	"github.com/hallmark-project/hallmark/internal/store"
)

func codec(t *testing.T) *nonce.Codec {
	t.Helper()
	key := make([]byte, nonce.KeySize)
	rand.Read(key)
	c, err := nonce.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMakeStored(t *testing.T) {
	c := codec(t)
	at := time.Date(2026, 12, 4, 1, 2, 3, 4000, time.UTC)
	n, stored, err := c.Make(at)
	if err != nil {
		t.Fatal(err)
	}
	if len(n) != nonce.Size || len(stored) != nonce.Size {
		t.Fatalf("nonce %d bytes, stored %d, want %d", len(n), len(stored), nonce.Size)
	}
	if got := int64(binary.BigEndian.Uint64(stored)); got != at.UnixMicro() {
		t.Errorf("stored form starts with %d, want the time %d", got, at.UnixMicro())
	}
	if bytes.Equal(n[:16], stored[:16]) {
		t.Error("the nonce shows its stored form")
	}
	back, err := c.Stored(n)
	if err != nil || !bytes.Equal(back, stored) {
		t.Errorf("Stored(nonce) = %x, %v, want %x", back, err, stored)
	}
}

// TestOrder checks what the package is for: stored forms sort by time,
// nonces do not show it.
func TestOrder(t *testing.T) {
	c := codec(t)
	at := time.Now()
	var prev []byte
	inOrder := 0
	var prevNonce []byte
	for i := range 200 {
		n, stored, err := c.Make(at.Add(time.Duration(i) * time.Microsecond))
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && bytes.Compare(prev, stored) >= 0 {
			t.Fatalf("stored form %d does not sort after the one before", i)
		}
		if prevNonce != nil && bytes.Compare(prevNonce, n) < 0 {
			inOrder++
		}
		prev, prevNonce = stored, n
	}
	// Random order puts about half the pairs in order; time order all 199.
	if inOrder < 60 || inOrder > 140 {
		t.Errorf("%d of 199 consecutive nonces in order: they show the time", inOrder)
	}
}

func TestUnique(t *testing.T) {
	c := codec(t)
	at := time.Now()
	seen := map[string]bool{}
	for range 1000 {
		n, _, err := c.Make(at) // the same time: the random bytes differ
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(n)] {
			t.Fatal("the same nonce twice")
		}
		seen[string(n)] = true
	}
}

func TestOtherKey(t *testing.T) {
	a, b := codec(t), codec(t)
	n, stored, err := a.Make(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Stored(n)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other, stored) {
		t.Error("another key finds the same stored form")
	}
}

func TestErrors(t *testing.T) {
	c := codec(t)
	for _, n := range [][]byte{nil, make([]byte, 31), make([]byte, 33)} {
		if _, err := c.Stored(n); err == nil {
			t.Errorf("Stored(%d bytes) succeeded", len(n))
		}
	}
	for _, k := range [][]byte{nil, make([]byte, 15), make([]byte, 32)} {
		if _, err := nonce.New(k, nil); err == nil {
			t.Errorf("New(%d-byte key) succeeded", len(k))
		}
	}
	broken, err := nonce.New(make([]byte, nonce.KeySize), iotest.ErrReader(errors.New("dry")))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := broken.Make(time.Now()); err == nil || !strings.Contains(err.Error(), "dry") {
		t.Errorf("Make with a failing reader = %v", err)
	}
}

// meta is a store's meta table, for LoadKey.
type meta struct {
	mu  sync.Mutex
	m   map[string]string
	err error // returned by GetMeta, if set
}

func (m *meta) GetMeta(_ context.Context, key string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return "", m.err
	}
	v, ok := m.m[key]
	if !ok {
		return "", fmt.Errorf("get meta %q: %w", key, store.ErrNotFound)
	}
	return v, nil
}

func (m *meta) PutMeta(_ context.Context, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.m[key]; ok {
		return fmt.Errorf("put meta %q: %w", key, store.ErrConflict)
	}
	m.m[key] = value
	return nil
}

func TestLoadKey(t *testing.T) {
	ctx := t.Context()
	m := &meta{m: map[string]string{}}
	var wg sync.WaitGroup
	keys := make([][]byte, 8)
	errs := make([]error, len(keys))
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = nonce.LoadKey(ctx, m, nil) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) || len(keys[i]) != nonce.KeySize {
			t.Fatalf("process %d has key %x, process 0 %x", i, keys[i], keys[0])
		}
	}

	bad := map[string]string{"not hex": "zz", "short": "0011"}
	for name, v := range bad {
		_, err := nonce.LoadKey(ctx, &meta{m: map[string]string{nonce.MetaKey: v}}, nil)
		if err == nil {
			t.Errorf("%s: LoadKey succeeded", name)
		} else if strings.Contains(err.Error(), v) {
			t.Errorf("%s: the error shows the stored value: %v", name, err)
		}
	}
	down := errors.New("database down")
	if _, err := nonce.LoadKey(ctx, &meta{err: down}, nil); !errors.Is(err, down) {
		t.Errorf("LoadKey with the store down = %v", err)
	}
	_, err := nonce.LoadKey(ctx, &meta{m: map[string]string{}}, iotest.ErrReader(down))
	if !errors.Is(err, down) {
		t.Errorf("LoadKey with no randomness = %v", err)
	}
}
