package audit

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/authn"
)

var _ authn.Observer = (*Log)(nil)

// Config is the audit log of one node.
type Config struct {
	// Dir is the logs directory; the file is <ClusterName>_audit.json.
	Dir         string
	ClusterName string
	NodeID      string
	// NodeAddress is origin.address of events with no client request
	// (origin.type local_node).
	NodeAddress string
	// ClusterUUID gives cluster.uuid, "" until the cluster is bootstrapped.
	ClusterUUID func() string
	// Include and Exclude are events.include/exclude; a nil Include is
	// Elasticsearch's default set.
	Include, Exclude []string
	Policies         []Policy
	// InternalPrefix is the path of the endpoints only nodes call: access
	// granted there is system_access_granted, as for Elasticsearch's
	// internal users.
	InternalPrefix string
	// MaxFileSize rolls the file when a record would take it past this
	// size; zero is 1 GiB, Elasticsearch's.
	MaxFileSize int64
	// QueueSize is how many records may wait for the writer; zero is 4096.
	QueueSize int
	// Now is the clock; nil is time.Now.
	Now    func() time.Time
	Logger hclog.Logger
}

// Log is a node's audit log: an authn.Observer whose records a writer
// goroutine appends to the rolling file.
type Log struct {
	cfg     Config
	events  Events
	filters filters
	now     func() time.Time
	log     hclog.Logger
	queue   chan Record
	file    *rollingFile
	stop    chan struct{}
	done    chan struct{}
	dropped atomic.Uint64
	// warned is when a drop was last logged (unix nanos), to log at most
	// one line per dropWarnEvery.
	warned atomic.Int64
}

const dropWarnEvery = 10 * time.Second

// Open checks the settings, opens the file and starts the writer.
func Open(cfg Config) (*Log, error) {
	events, err := ParseEvents(cfg.Include, cfg.Exclude)
	if err != nil {
		return nil, err
	}
	fs, err := compileFilters(cfg.Policies)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClusterUUID == nil {
		cfg.ClusterUUID = func() string { return "" }
	}
	if cfg.MaxFileSize <= 0 {
		cfg.MaxFileSize = 1 << 30
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 4096
	}
	if cfg.ClusterName == "" || cfg.Dir == "" {
		return nil, errors.New("audit log: cluster name and logs directory must be set")
	}
	log := cfg.Logger.Named("audit")
	file, err := openRolling(cfg.Dir, cfg.ClusterName+"_audit", cfg.MaxFileSize, cfg.Now, log)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	l := &Log{cfg: cfg, events: events, filters: fs, now: cfg.Now, log: log, file: file,
		queue: make(chan Record, cfg.QueueSize), stop: make(chan struct{}), done: make(chan struct{})}
	go l.write()
	return l, nil
}

// Path is the file records are appended to.
func (l *Log) Path() string { return l.file.path() }

// Dropped is how many records were dropped because the queue was full.
func (l *Log) Dropped() uint64 { return l.dropped.Load() }

// Close writes what is queued, closes the file and waits for the gzips of
// rolled files. Records that come after it are dropped.
func (l *Log) Close() error {
	close(l.stop)
	<-l.done
	return l.file.close()
}

// enqueue hands a record to the writer without ever waiting for it.
func (l *Log) enqueue(r Record) {
	select {
	case l.queue <- r:
	default:
		l.drop()
	}
}

func (l *Log) drop() {
	n := l.dropped.Add(1)
	now := time.Now().UnixNano()
	last := l.warned.Load()
	if now-last < int64(dropWarnEvery) || !l.warned.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("audit queue full: records dropped rather than delay requests", "dropped_total", n)
}

// write is the writer goroutine: it appends records and flushes whenever
// the queue is empty, so a record is on disk as soon as nothing waits.
func (l *Log) write() {
	defer close(l.done)
	var buf []byte
	for {
		select {
		case r := <-l.queue:
			buf = l.append(buf[:0], &r)
			l.file.write(buf, r.Time)
			if len(l.queue) == 0 {
				l.file.flush()
			}
		case <-l.stop:
			for {
				select {
				case r := <-l.queue:
					buf = l.append(buf[:0], &r)
					l.file.write(buf, r.Time)
				default:
					l.file.flush()
					return
				}
			}
		}
	}
}

// append fills the fields every record has and encodes it.
func (l *Log) append(b []byte, r *Record) []byte {
	r.NodeID = l.cfg.NodeID
	r.ClusterUUID = l.cfg.ClusterUUID()
	return r.AppendJSON(b)
}

// ensureDir makes the logs directory, readable by the node's user only.
func ensureDir(dir string) error {
	return os.MkdirAll(dir, 0o700)
}
