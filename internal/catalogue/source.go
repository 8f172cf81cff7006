package catalogue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/store"
)

// ErrInvalid wraps the reason Publish refused a document.
var ErrInvalid = errors.New("invalid catalogue")

// refresh is how long a Source trusts the catalogue it last read: a
// publication reaches every replica within this time.
const refresh = 2 * time.Second

// Source publishes catalogues to the store and serves the current one.
type Source struct {
	store store.Store
	now   func() time.Time

	mu       sync.Mutex
	current  *Catalogue // guarded by mu
	loadedAt time.Time  // guarded by mu
}

// NewSource returns a Source with the clock now.
func NewSource(s store.Store, now func() time.Time) *Source {
	return &Source{store: s, now: now}
}

// Current returns the newest published catalogue; before the first
// publication, an empty one (version 0) that trusts nothing.
func (s *Source) Current(ctx context.Context) (*Catalogue, error) {
	now := s.now()
	s.mu.Lock()
	if s.current != nil && now.Sub(s.loadedAt) < refresh && !now.Before(s.loadedAt) {
		c := s.current
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()

	c, _, err := s.Latest(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.current, s.loadedAt = c, now
	s.mu.Unlock()
	return c, nil
}

// Latest reads the newest published catalogue and its document from the
// store, bypassing the cache.
func (s *Source) Latest(ctx context.Context) (*Catalogue, store.Catalogue, error) {
	rec, err := s.store.LatestCatalogue(ctx)
	if errors.Is(err, store.ErrNotFound) {
		c, err := New(0, Document{})
		return c, store.Catalogue{Document: []byte(`{"components":[]}`)}, err
	}
	if err != nil {
		return nil, store.Catalogue{}, fmt.Errorf("catalogue: load: %w", err)
	}
	doc, err := Parse(rec.Document)
	if err != nil {
		return nil, store.Catalogue{}, fmt.Errorf("catalogue: stored version %d: %w",
			rec.Version, err)
	}
	c, err := New(rec.Version, doc)
	if err != nil {
		return nil, store.Catalogue{}, err
	}
	return c, rec, nil
}

// Publish checks a document and stores it as the next version, recording
// the change in the audit log. It returns the new version.
func (s *Source) Publish(ctx context.Context, data []byte) (int64, error) {
	if _, err := Parse(data); err != nil {
		return 0, fmt.Errorf("%w: %s", ErrInvalid, strings.TrimPrefix(err.Error(),
			"catalogue: "))
	}
	var version int64
	err := s.store.Tx(ctx, func(q store.Queries) error {
		last, err := q.LatestCatalogue(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("catalogue: publish: %w", err)
		}
		version = last.Version + 1
		a, _ := audit.FromContext(ctx)
		now := s.now()
		err = q.PutCatalogue(ctx, store.Catalogue{Version: version, Document: data,
			CreatedAt: now, TokenID: a.TokenID})
		if err != nil {
			return fmt.Errorf("catalogue: publish version %d: %w", version, err)
		}
		return audit.Record(ctx, q, now, "catalogue.publish", fmt.Sprint(version), nil)
	})
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	s.current = nil
	s.mu.Unlock()
	return version, nil
}
