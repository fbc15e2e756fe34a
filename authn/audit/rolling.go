package audit

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// dayLayout names a rolled file's day, as Elasticsearch's
// <cluster>_audit-%d{yyyy-MM-dd}-%i.json.gz.
const dayLayout = "2006-01-02"

// rollingFile is <base>.json in dir, rolled when a record's day is not the
// file's or when it would grow past maxSize. A rolled file becomes
// <base>-<day>-<i>.json.gz, i counting from 1 within its day; it is
// gzipped in the background so the writer goes on at once. Only the
// writer goroutine calls write and flush.
type rollingFile struct {
	dir, base string
	maxSize   int64
	log       hclog.Logger
	f         *os.File
	w         *bufio.Writer
	size      int64
	day       string
	gzips     sync.WaitGroup
}

func openRolling(dir, base string, maxSize int64, now func() time.Time, log hclog.Logger) (*rollingFile, error) {
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("create logs directory: %w", err)
	}
	rf := &rollingFile{dir: dir, base: base, maxSize: maxSize, log: log}
	if err := rf.open(); err != nil {
		return nil, err
	}
	rf.gzipLeftovers()
	// A file left by an earlier run belongs to the day it was last written.
	rf.day = now().Format(dayLayout)
	if st, err := rf.f.Stat(); err == nil && st.Size() > 0 {
		rf.day = st.ModTime().In(now().Location()).Format(dayLayout)
	}
	return rf, nil
}

func (rf *rollingFile) path() string { return filepath.Join(rf.dir, rf.base+".json") }

func (rf *rollingFile) open() error {
	f, err := os.OpenFile(rf.path(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open audit file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat audit file: %w", err)
	}
	rf.f, rf.w, rf.size = f, bufio.NewWriterSize(f, 64<<10), st.Size()
	return nil
}

// write appends one line written at t, rolling first if it must.
func (rf *rollingFile) write(line []byte, t time.Time) {
	if rf.f == nil {
		return // rolling failed; the error was logged
	}
	day := t.Format(dayLayout)
	if day != rf.day || (rf.size > 0 && rf.size+int64(len(line)) > rf.maxSize) {
		rf.roll()
		rf.day = day
		if rf.f == nil {
			return
		}
	}
	n, err := rf.w.Write(line)
	rf.size += int64(n)
	if err != nil {
		rf.log.Error("audit write failed", "error", err)
	}
}

func (rf *rollingFile) flush() {
	if rf.w == nil {
		return
	}
	if err := rf.w.Flush(); err != nil {
		rf.log.Error("audit flush failed", "error", err)
	}
}

// roll closes the file, moves it aside under its day and next index, and
// opens a new one; the gzip runs beside the writer.
func (rf *rollingFile) roll() {
	rf.flush()
	rf.f.Close()
	rf.f, rf.w = nil, nil
	rolled := filepath.Join(rf.dir, fmt.Sprintf("%s-%s-%d.json", rf.base, rf.day, rf.nextIndex(rf.day)))
	if err := os.Rename(rf.path(), rolled); err != nil {
		rf.log.Error("audit roll failed", "error", err)
	} else {
		rf.gzips.Add(1)
		go func() {
			defer rf.gzips.Done()
			if err := gzipFile(rolled); err != nil {
				rf.log.Error("audit gzip failed", "file", rolled, "error", err)
			}
		}()
	}
	if err := rf.open(); err != nil {
		rf.log.Error("audit file reopen failed: records are dropped", "error", err)
	}
}

// gzipLeftovers compresses rolled files a stopped node had not finished
// compressing.
func (rf *rollingFile) gzipLeftovers() {
	left, _ := filepath.Glob(filepath.Join(rf.dir, rf.base+"-*.json"))
	for _, name := range left {
		rf.gzips.Add(1)
		go func() {
			defer rf.gzips.Done()
			os.Remove(name + ".gz.tmp")
			if err := gzipFile(name); err != nil {
				rf.log.Error("audit gzip failed", "file", name, "error", err)
			}
		}()
	}
}

// nextIndex is one more than the highest index rolled for day, gzipped or
// still being gzipped.
func (rf *rollingFile) nextIndex(day string) int {
	prefix := rf.base + "-" + day + "-"
	entries, _ := os.ReadDir(rf.dir)
	last := 0
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if i, err := strconv.Atoi(num); err == nil && i > last {
			last = i
		}
	}
	return last + 1
}

func (rf *rollingFile) close() error {
	var err error
	if rf.f != nil {
		rf.flush()
		err = rf.f.Close()
		rf.f, rf.w = nil, nil
	}
	rf.gzips.Wait()
	return err
}

// gzipFile compresses name into name.gz (through a temporary file, so a
// crash leaves no half .gz) and removes name.
func gzipFile(name string) error {
	in, err := os.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := name + ".gz.tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, name+".gz"); err != nil {
		return err
	}
	return os.Remove(name)
}
