package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// ErrInvalid is wrapped by every error that describes bad content in a
// cluster file (as opposed to a file that cannot be read).
var ErrInvalid = errors.New("invalid cluster config")

// Node is one member of the cluster.
type Node struct {
	ID   string `yaml:"id"`   // unique member id, e.g. "n1"
	Addr string `yaml:"addr"` // host:port the node listens on for peers and clients
	// MetricsAddr is the host:port of the node's HTTP listener for
	// Prometheus metrics and the /livez and /readyz probes; "" for none.
	MetricsAddr string `yaml:"metrics_addr"`
	// CertFile and KeyFile are this node's certificate and key when they
	// differ from the tls section's; absolute once parsed.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// TLS is cluster.yaml's tls section: every connection is mutual TLS 1.3
// with certificates from CAFile. CertFile and KeyFile are what clients
// (easykv-ctl, easykv-tui) present, and nodes without their own. Paths are
// absolute once parsed.
type TLS struct {
	CAFile   string `yaml:"ca_file"`
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Config is a parsed and validated cluster.yaml.
type Config struct {
	Name            string        // cluster name; handshakes from another cluster are refused
	Nodes           []Node        // members in file order
	DataDir         string        // absolute; node id's data lives in DataDir/<id>
	Heartbeat       time.Duration // leader heartbeat interval
	ElectionTimeout time.Duration // T: each election timer is drawn from [T, 2T)
	AuthToken       string        // shared secret for peers and clients, "" for none
	TLS             *TLS          // nil: connections are plain TCP
	// SnapshotEntries is how many applied entries separate snapshots of
	// the state machine; after a snapshot the log is compacted.
	SnapshotEntries uint64
	// SnapshotMargin is how many entries below a snapshot's index the log
	// keeps when it is compacted, so that a follower a little behind
	// catches up from the log rather than from a snapshot; may be 0.
	SnapshotMargin uint64
	// SegmentSize is the size of each log segment file in bytes. The log
	// is compacted a whole segment at a time, so disk use is bounded by
	// the snapshots plus the margin plus about two segments.
	SegmentSize int64
}

// Defaults of the optional keys snapshot_entries and snapshot_margin:
// 10,000 entries of 256-byte values are about 3 MB of log between
// snapshots, which bounds what a restart replays, and 5,000 kept below a
// snapshot (what etcd keeps after compaction) let a follower that was down
// briefly catch up from the log.
const (
	DefaultSnapshotEntries = 10_000
	DefaultSnapshotMargin  = 5_000
	// DefaultSegmentSize is the default of segment_size, 64 MiB, as etcd's
	// WAL segments; MinSegmentSize the least it may be.
	DefaultSegmentSize = 64 << 20
	MinSegmentSize     = 64 << 10
)

// maxEntryCount bounds snapshot_entries and snapshot_margin: beyond a
// billion entries the value is a typo, not a plan.
const maxEntryCount = 1_000_000_000

// file mirrors the YAML document; pointers tell a missing key from a zero one.
type file struct {
	Name            *string `yaml:"name"`
	Nodes           []Node  `yaml:"nodes"`
	DataDir         *string `yaml:"data_dir"`
	Heartbeat       *string `yaml:"heartbeat"`
	ElectionTimeout *string `yaml:"election_timeout"`
	AuthToken       string  `yaml:"auth_token"`
	TLS             *TLS    `yaml:"tls"`
	// The counts stay nodes until validated, so that an error can give
	// the line and the value as written.
	// (a zero Node, of Kind 0, is a missing key).
	SnapshotEntries yaml.Node `yaml:"snapshot_entries"`
	SnapshotMargin  yaml.Node `yaml:"snapshot_margin"`
	SegmentSize     yaml.Node `yaml:"segment_size"`
}

// Load reads and validates the cluster file at path. A relative data_dir is
// taken relative to the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cluster file: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("cluster file %s: %w", path, err)
	}
	cfg, err := Parse(data, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// unknownField is how yaml.v3 words a key no field takes.
var unknownField = regexp.MustCompile(`^(line \d+: )?field (.*) not found in type \S+$`)

// yamlError words a decoding error on one line, an unknown key as
// `line 7: unknown key "data2_dir"` rather than in Go's terms.
func yamlError(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return oneLine(err.Error())
	}
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		if m := unknownField.FindStringSubmatch(e); m != nil {
			e = fmt.Sprintf("%sunknown key %q", m[1], m[2])
		}
		msgs[i] = oneLine(e)
	}
	return strings.Join(msgs, "; ")
}

// Parse validates a cluster document; dir anchors a relative data_dir.
func Parse(data []byte, dir string) (*Config, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, invalid("empty file")
		}
		return nil, invalid("%s", yamlError(err))
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		// A second document would be ignored silently: say so instead.
		return nil, invalid("more than one YAML document (--- separates them)")
	}
	if f.Name == nil || *f.Name == "" {
		return nil, invalid("missing key: name")
	}
	if !printable(*f.Name) {
		return nil, invalid("name %q: control characters are not allowed", *f.Name)
	}
	if len(f.Nodes) == 0 {
		return nil, invalid("missing key: nodes")
	}
	if f.DataDir == nil || *f.DataDir == "" {
		return nil, invalid("missing key: data_dir")
	}
	heartbeat, err := duration("heartbeat", f.Heartbeat)
	if err != nil {
		return nil, err
	}
	election, err := duration("election_timeout", f.ElectionTimeout)
	if err != nil {
		return nil, err
	}
	if election <= heartbeat {
		return nil, invalid("election_timeout (%s) must be above heartbeat (%s)", election, heartbeat)
	}
	snapEntries, err := count("snapshot_entries", &f.SnapshotEntries, DefaultSnapshotEntries, 1)
	if err != nil {
		return nil, err
	}
	snapMargin, err := count("snapshot_margin", &f.SnapshotMargin, DefaultSnapshotMargin, 0)
	if err != nil {
		return nil, err
	}
	segmentSize, err := count("segment_size", &f.SegmentSize, DefaultSegmentSize, MinSegmentSize)
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	addrs := map[string]bool{}
	for i, n := range f.Nodes {
		if n.ID == "" {
			return nil, invalid("nodes[%d]: missing key: id", i)
		}
		if !validID(n.ID) {
			return nil, invalid("nodes[%d]: id %q: want 1 to %d letters, digits, '.', '_' or '-' (it names the node's data directory)", i, n.ID, maxIDLen)
		}
		if n.Addr == "" {
			return nil, invalid("node %s: missing key: addr", n.ID)
		}
		if _, _, err := net.SplitHostPort(n.Addr); err != nil {
			return nil, invalid("node %s: bad addr %q: want host:port", n.ID, n.Addr)
		}
		if ids[n.ID] {
			return nil, invalid("duplicate node id %s", n.ID)
		}
		if addrs[n.Addr] {
			return nil, invalid("duplicate node address %s", n.Addr)
		}
		ids[n.ID], addrs[n.Addr] = true, true
		if n.MetricsAddr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(n.MetricsAddr); err != nil {
			return nil, invalid("node %s: bad metrics_addr %q: want host:port", n.ID, n.MetricsAddr)
		}
		if addrs[n.MetricsAddr] {
			return nil, invalid("duplicate node address %s (metrics_addr of %s)", n.MetricsAddr, n.ID)
		}
		addrs[n.MetricsAddr] = true
	}
	if err := checkTLS(f.TLS, f.Nodes, dir); err != nil {
		return nil, err
	}
	dataDir := *f.DataDir
	if !filepath.IsAbs(dataDir) {
		dataDir = filepath.Join(dir, dataDir)
	}
	return &Config{
		Name:            *f.Name,
		Nodes:           f.Nodes,
		DataDir:         filepath.Clean(dataDir),
		Heartbeat:       heartbeat,
		ElectionTimeout: election,
		AuthToken:       f.AuthToken,
		TLS:             f.TLS,
		SnapshotEntries: snapEntries,
		SnapshotMargin:  snapMargin,
		SegmentSize:     int64(segmentSize),
	}, nil
}

// checkTLS validates the tls section and the nodes' own certificates, and
// makes their paths absolute (relative ones are taken from dir). Whether
// the files can be read is checked by the programs that use them.
func checkTLS(t *TLS, nodes []Node, dir string) error {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if t != nil {
		for _, k := range []struct{ key, val string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
			if k.val == "" {
				return invalid("tls: missing key: %s", k.key)
			}
		}
		abs(&t.CAFile)
		abs(&t.CertFile)
		abs(&t.KeyFile)
	}
	for i := range nodes {
		n := &nodes[i]
		if n.CertFile == "" && n.KeyFile == "" {
			continue
		}
		switch {
		case t == nil:
			return invalid("node %s: cert_file and key_file need a tls section", n.ID)
		case n.CertFile == "" || n.KeyFile == "":
			return invalid("node %s: cert_file and key_file go together", n.ID)
		}
		abs(&n.CertFile)
		abs(&n.KeyFile)
	}
	return nil
}

// TLSFiles returns the CA, certificate and key that id presents and
// checks with: the node's own certificate when it has one, else the tls
// section's (what clients use: pass an id no node has). ok is false when
// the cluster does not use TLS.
func (c *Config) TLSFiles(id string) (ca, cert, key string, ok bool) {
	if c.TLS == nil {
		return "", "", "", false
	}
	cert, key = c.TLS.CertFile, c.TLS.KeyFile
	if n, found := c.Lookup(id); found && n.CertFile != "" {
		cert, key = n.CertFile, n.KeyFile
	}
	return c.TLS.CAFile, cert, key, true
}

// Lookup returns the member with the given id.
func (c *Config) Lookup(id string) (Node, bool) {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n, true
		}
	}
	return Node{}, false
}

// NodeDataDir is where node id keeps its durable state.
func (c *Config) NodeDataDir(id string) string {
	return filepath.Join(c.DataDir, id)
}

func duration(key string, v *string) (time.Duration, error) {
	if v == nil || *v == "" {
		return 0, invalid("missing key: %s", key)
	}
	d, err := time.ParseDuration(*v)
	if err != nil {
		return 0, invalid("%s: %q is not a duration like 100ms or 1s", key, *v)
	}
	if d <= 0 {
		return 0, invalid("%s: must be positive, got %s", key, d)
	}
	return d, nil
}

// count validates the optional whole-number key key: def when it is
// absent, else an integer from least to maxEntryCount written as a YAML
// integer (10000, 10_000 or 0x2710; not "10000", 1e4 or 10000.0).
func count(key string, n *yaml.Node, def, least uint64) (uint64, error) {
	if n.Kind == 0 {
		return def, nil
	}
	want := fmt.Sprintf("want a whole number from %d to %d", least, maxEntryCount)
	line := n.Line
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias // the value an alias (*name) stands for
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		got := fmt.Sprintf("%q", n.Value)
		switch {
		case n.Kind != yaml.ScalarNode:
			got = "a list or a map"
		case n.ShortTag() == "!!null":
			got = "nothing"
		}
		return 0, invalid("line %d: %s: %s, got %s", line, key, want, got)
	}
	var v int64
	if err := n.Decode(&v); err != nil || v < int64(least) || v > maxEntryCount {
		return 0, invalid("line %d: %s: %s, got %s", line, key, want, n.Value)
	}
	return uint64(v), nil
}

// maxIDLen bounds a node id, which names a directory and shows on every
// card of the dashboard.
const maxIDLen = 64

// validID says whether id can name a node: it becomes a directory under
// data_dir, so no path separators, no "." or "..", nothing a terminal
// would act on.
func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen || id == "." || id == ".." {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// printable says whether s holds no control characters.
func printable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// oneLine folds a multi-line parser message so every error stays one line.
func oneLine(s string) string {
	return string(bytes.Join(bytes.Fields([]byte(s)), []byte(" ")))
}
