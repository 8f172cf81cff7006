package agent

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Names of the files that WriteCredentials writes.
const (
	KeyFile       = "key.pem"       // the certificate's private key, PKCS#8, mode 0600
	CertFile      = "cert.pem"      // the device certificate
	ChainFile     = "chain.pem"     // the tenant CA, then the intermediate
	FullChainFile = "fullchain.pem" // the device certificate, then the chain
)

// Layout of a credentials directory: each file name is a symbolic link into
// liveLink, itself a link to the generation directory of the current set.
const (
	liveLink  = ".live"
	genPrefix = ".gen-"
)

// renameForTest, when set, replaces os.Rename so that tests can make the
// commit of a new set fail.
var renameForTest func(oldpath, newpath string) error

// WriteCredentials stores c in dir, which it creates with mode 0700 if it is
// missing, as the files KeyFile, CertFile, ChainFile and FullChainFile.
//
// A reader that opens one of the files sees either the old set or the new
// one, never a mix, even if the process dies halfway: the files of a set
// live in a generation directory of their own (".gen-*", mode 0700), and
// dir/key.pem is a link to .live/key.pem, where .live links to the current
// generation. The order is:
//
//  1. write the four files of the new generation, each synced to disk;
//  2. point a new link at the generation and rename it over .live: this
//     one rename replaces the whole set, and a failure before it leaves the
//     old set untouched and removes the new generation;
//  3. create the four links of dir that are missing (the first write);
//  4. remove the previous generation.
//
// A reader that opens two files, such as key.pem and then cert.pem, may
// still straddle a renewal and should check that the key fits the
// certificate, as tls.LoadX509KeyPair does, and read again if not.
// WriteCredentials assumes one writer per directory at a time.
func WriteCredentials(dir string, c *Credentials) error {
	files, err := encodeCredentials(c)
	if err != nil {
		return fmt.Errorf("agent: write credentials: %w", err)
	}
	if err := writeCredentials(dir, files); err != nil {
		return fmt.Errorf("agent: write credentials to %s: %w", dir, err)
	}
	return nil
}

// credFile is one file of a credentials set.
type credFile struct {
	name string
	data []byte
	mode fs.FileMode
}

func encodeCredentials(c *Credentials) ([]credFile, error) {
	if c == nil || c.Key == nil || c.Certificate == nil || len(c.Chain) == 0 {
		return nil, errors.New("credentials need a key, a certificate and a chain")
	}
	key, err := encodeKey(c.Key)
	if err != nil {
		return nil, err
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate.Raw})
	var chain []byte
	for _, ca := range c.Chain {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
			Bytes: ca.Raw})...)
	}
	full := append(append([]byte(nil), cert...), chain...)
	return []credFile{
		{KeyFile, key, 0o600},
		{CertFile, cert, 0o644},
		{ChainFile, chain, 0o644},
		{FullChainFile, full, 0o644},
	}, nil
}

func writeCredentials(dir string, files []credFile) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	gen, err := os.MkdirTemp(dir, genPrefix) // mode 0700
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = os.RemoveAll(gen) // the old set is still live; nothing else to undo
		}
	}()
	for _, f := range files {
		if err := writeNewFile(filepath.Join(gen, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	if err := syncDir(gen); err != nil {
		return err
	}

	previous, _ := os.Readlink(filepath.Join(dir, liveLink)) // "" on the first write
	if err := replaceLink(dir, liveLink, filepath.Base(gen)); err != nil {
		return err
	}
	committed = true
	for _, f := range files {
		if err := ensureLink(dir, f.name, filepath.Join(liveLink, f.name)); err != nil {
			return err
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}

	if strings.HasPrefix(previous, genPrefix) && !strings.ContainsRune(previous, '/') {
		// Left for a later clean-up if it fails: the new set is live already.
		_ = os.RemoveAll(filepath.Join(dir, previous))
	}
	return nil
}

// writeNewFile creates path with mode perm and writes data to disk.
func writeNewFile(path string, data []byte, perm fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := writeAndClose(f, data); err != nil {
		return err
	}
	return os.Chmod(path, perm) // perm as asked, whatever the umask
}

// ensureLink makes dir/name a symbolic link to target unless it is one.
func ensureLink(dir, name, target string) error {
	if t, err := os.Readlink(filepath.Join(dir, name)); err == nil && t == target {
		return nil
	}
	return replaceLink(dir, name, target)
}

// replaceLink atomically makes dir/name a symbolic link to target: it
// creates the link under a temporary name, then renames it.
func replaceLink(dir, name, target string) error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	tmp := filepath.Join(dir, name+".tmp-"+hex.EncodeToString(b[:]))
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	rename := os.Rename
	if renameForTest != nil {
		rename = renameForTest
	}
	if err := rename(tmp, filepath.Join(dir, name)); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// syncDir flushes the entries of dir to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
