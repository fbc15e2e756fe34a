package authn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// ServiceTokensFile is the file name Elasticsearch's service token CLI uses.
const ServiceTokensFile = "service_tokens"

// maxServiceTokensLine bounds a line of the file; a token line is ~150 bytes.
const maxServiceTokensLine = 1 << 20

// FileTokens is one parsed service_tokens file: qualified name to hash.
type FileTokens map[string]string

// ParseServiceTokensFile parses "namespace/service/name:hash" lines; blank
// lines and lines starting with # are skipped. An error names the line.
func ParseServiceTokensFile(data []byte) (FileTokens, error) {
	out := FileTokens{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxServiceTokensLine)
	line := 1
	for ; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		qualified, hash, ok := strings.Cut(text, ":")
		parts := strings.Split(qualified, "/")
		switch {
		case !ok || hash == "":
			return nil, fmt.Errorf("line %d: expected namespace/service/name:hash", line)
		case len(parts) != 3:
			return nil, fmt.Errorf("line %d: token name must be namespace/service/name", line)
		case !ValidServiceTokenName(parts[2]):
			return nil, fmt.Errorf("line %d: invalid service token name", line)
		}
		if _, dup := out[qualified]; dup {
			return nil, fmt.Errorf("line %d: duplicate token [%s]", line, qualified)
		}
		out[qualified] = hash
	}
	// The line that could not be read is the one after the last scanned.
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("line %d: longer than %d bytes", line, maxServiceTokensLine)
	} else if err != nil {
		return nil, fmt.Errorf("line %d: read service tokens: %w", line, err)
	}
	return out, nil
}

// Format renders the file, one token per line, sorted.
func (ft FileTokens) Format() []byte {
	var b bytes.Buffer
	for _, n := range slices.Sorted(maps.Keys(ft)) {
		fmt.Fprintf(&b, "%s:%s\n", n, ft[n])
	}
	return b.Bytes()
}

// ReadServiceTokensFile reads DIR/service_tokens; a missing file is empty.
func ReadServiceTokensFile(dir string) (FileTokens, error) {
	data, err := os.ReadFile(filepath.Join(dir, ServiceTokensFile))
	if os.IsNotExist(err) {
		return FileTokens{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseServiceTokensFile(data)
}

// WriteServiceTokensFile replaces DIR/service_tokens atomically, mode 0600.
func WriteServiceTokensFile(dir string, ft FileTokens) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".service_tokens-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(ft.Format()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, ServiceTokensFile))
}

// fileTokenSet is the tokens in force, with a generation that changes on
// every reload so cached verifications of old contents go stale.
type fileTokenSet struct {
	tokens     FileTokens
	generation uint64
}

// fileTokenStore holds the service_tokens file of one node and reloads it
// when it changes. A file that does not parse is reported and ignored: the
// previous good contents stay in force.
type fileTokenStore struct {
	dir  string
	log  hclog.Logger
	set  atomic.Pointer[fileTokenSet]
	last [32]byte // content hash of the last file read, good or bad
}

func newFileTokenStore(dir string, log hclog.Logger) *fileTokenStore {
	s := &fileTokenStore{dir: dir, log: log}
	s.set.Store(&fileTokenSet{tokens: FileTokens{}})
	s.reload()
	return s
}

func (s *fileTokenStore) current() *fileTokenSet { return s.set.Load() }

// reload reads the file if its contents changed since the last read.
func (s *fileTokenStore) reload() {
	if s.dir == "" {
		return
	}
	data, err := os.ReadFile(filepath.Join(s.dir, ServiceTokensFile))
	if os.IsNotExist(err) {
		data, err = nil, nil
	}
	if err != nil {
		s.log.Error("cannot read service tokens file", "dir", s.dir, "error", err)
		return
	}
	sum := sha256.Sum256(data)
	if sum == s.last {
		return
	}
	s.last = sum
	tokens, err := ParseServiceTokensFile(data)
	if err != nil {
		s.log.Error("service tokens file is malformed; keeping the previous tokens", "file", filepath.Join(s.dir, ServiceTokensFile), "error", err)
		return
	}
	old := s.current()
	s.set.Store(&fileTokenSet{tokens: tokens, generation: old.generation + 1})
	s.log.Info("service tokens file loaded", "tokens", len(tokens))
}

// watch re-reads the file every interval until ctx ends. Polling the
// content is portable and cheap for a file of a few lines.
func (s *fileTokenStore) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reload()
		}
	}
}

// NewFileServiceTokenSecret returns a new 22-character secret and its hash
// for the service_tokens file, in Elasticsearch's default for service
// tokens (PBKDF2_STRETCH, 10,000 iterations), so the file is portable.
func NewFileServiceTokenSecret() (string, string, error) {
	secret := newSecret()
	h, err := NewHasher("pbkdf2_stretch")
	if err != nil {
		return "", "", err
	}
	hash, err := h.Hash([]byte(secret))
	return secret, hash, err
}

// FileTokenCount is how many tokens this node's service_tokens file holds
// (the metrics' credential gauge).
func (s *Service) FileTokenCount() int { return len(s.files.current().tokens) }
