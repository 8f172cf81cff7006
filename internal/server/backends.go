package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hallmark-project/hallmark/internal/config"
	"github.com/hallmark-project/hallmark/internal/keys"
	"github.com/hallmark-project/hallmark/internal/keys/hsm"
	"github.com/hallmark-project/hallmark/internal/keys/sealed"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/postgres"
	"github.com/hallmark-project/hallmark/internal/store/sqlite"
)

// metaKEKCheck is the store's record of the KEK check value.
const metaKEKCheck = "sealed.kek_check"

// openStore opens the configured database.
func openStore(ctx context.Context, c *config.Config) (store.Store, error) {
	if c.Database == "sqlite" {
		return sqlite.Open(ctx, filepath.Join(c.DataDir, "hallmark.db"))
	}
	return postgres.Open(ctx, c.Database)
}

// openKeys opens the configured key backend. The sealed backend makes a new
// KEK file only for a store that has never recorded one; it returns a note
// for the operator when it does.
func openKeys(ctx context.Context, c *config.Config, st store.Store) (keys.Backend, string,
	error) {
	if c.KeyBackend == "pkcs11" {
		b, err := hsm.Open(hsm.Config{Module: c.PKCS11Module, TokenLabel: c.PKCS11Token,
			PIN: c.PKCS11PIN})
		if err != nil {
			return nil, "", err
		}
		return b, "", nil
	}

	recorded, err := st.GetMeta(ctx, metaKEKCheck)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, "", fmt.Errorf("read KEK check value: %w", err)
	}
	kek, note, err := loadKEK(c, recorded == "")
	if err != nil {
		return nil, "", err
	}
	b, err := sealed.New(kek)
	if err != nil {
		return nil, "", err
	}
	switch {
	case recorded == "":
		if err := st.PutMeta(ctx, metaKEKCheck, b.CheckValue()); err != nil {
			return nil, "", fmt.Errorf("record KEK check value: %w", err)
		}
	default:
		if err := b.MatchCheckValue(recorded); err != nil {
			return nil, "", fmt.Errorf("the key-encryption key does not open this "+
				"database's CA keys: %w", err)
		}
	}
	return b, note, nil
}

// loadKEK reads the KEK from HALLMARK_KEK or the KEK file, creating the file
// if allowed. It refuses a KEK file inside the data directory: the key that
// protects the data must not travel with it.
func loadKEK(c *config.Config, create bool) ([]byte, string, error) {
	if c.KEK != "" {
		kek, err := sealed.ParseKEK(c.KEK)
		if err != nil {
			return nil, "", fmt.Errorf("HALLMARK_KEK: %w", err)
		}
		return kek, "", nil
	}
	if inside(c.KEKFile, c.DataDir) {
		return nil, "", fmt.Errorf("the KEK file %s is inside the data directory %s; keep "+
			"it apart from the data it protects", c.KEKFile, c.DataDir)
	}
	kek, err := sealed.LoadKEK(c.KEKFile)
	if err == nil {
		return kek, "", nil
	}
	if !errors.Is(err, fs.ErrNotExist) || !create {
		return nil, "", err
	}
	if err := sealed.GenerateKEKFile(c.KEKFile); err != nil {
		return nil, "", err
	}
	kek, err = sealed.LoadKEK(c.KEKFile)
	if err != nil {
		return nil, "", err
	}
	return kek, "created a key-encryption key in " + c.KEKFile + "; back it up apart from " +
		"the data directory: without it the CA keys cannot be used", nil
}

// inside reports whether path is dir or below it.
func inside(path, dir string) bool {
	p, err1 := filepath.Abs(path)
	d, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(os.PathSeparator))
}
