package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxPrepared bounds the statements a preparedDB keeps. The store's SQL is
// a fixed set of strings, so the bound only guards against a query built
// from data.
const maxPrepared = 128

// preparedDB runs statements on a pool through prepared statements kept
// for reuse, so SQLite parses each query once per connection instead of on
// every call. database/sql prepares a statement again on each connection
// that needs it.
type preparedDB struct {
	db *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // guarded by mu
}

func newPreparedDB(db *sql.DB) *preparedDB {
	return &preparedDB{db: db, stmts: make(map[string]*sql.Stmt)}
}

// stmt returns the prepared statement of query, or nil if the cache is
// full or preparing fails (the caller then runs query unprepared, which
// reports the error).
func (p *preparedDB) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.stmts[query]; ok {
		return s
	}
	if len(p.stmts) >= maxPrepared {
		return nil
	}
	s, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.stmts[query] = s
	return s
}

func (p *preparedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result,
	error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.db.ExecContext(ctx, query, args...)
}

func (p *preparedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows,
	error) {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p *preparedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := p.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// close releases the prepared statements.
func (p *preparedDB) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, s := range p.stmts {
		s.Close()
		delete(p.stmts, q)
	}
}
