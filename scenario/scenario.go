package scenario

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is one guided scenario, as its file says.
type Scenario struct {
	// Name is the file's name without .yaml.
	Name string
	// Title and Summary describe it in the list.
	Title, Summary string
	// Nodes is the fewest voters it needs.
	Nodes int
	// Slow is the slow-motion factor it runs at.
	Slow int64
	// Steps are what it does, in order.
	Steps []Step
}

// Step is one step: narration, names bound, commands, checks.
type Step struct {
	// Say, Why, Paper and Look narrate it: what is about to happen, the
	// rule, the paper's section and what to look at.
	Say, Why, Paper, Look string
	// Bind names what the cluster is as the step begins, in the file's
	// order.
	Bind []Binding
	// Do are prompt commands, with {name} to be replaced.
	Do []string
	// Expect are the checks.
	Expect []Check
	// Wait is how long its checks have: Wait, or WaitTimeouts of the
	// cluster's (slowed) election timeout; both 0 for the default.
	Wait         time.Duration
	WaitTimeouts int
}

// Binding names one thing: Name is bound to What (leader, follower,
// term, last) of Of (a bound name, or "" for the leader).
type Binding struct {
	Name, What, Of string
}

// Check is one check: Name (one of Checks) with its arguments, {name}
// to be replaced; Always says it must hold all through the step.
type Check struct {
	Name   string
	Args   []string
	Always bool
	// Text is the check as written, for messages.
	Text string
}

// CheckSpec describes one check: how many arguments it takes and what it
// means.
type CheckSpec struct {
	Args int
	Help string
}

// Checks are the checks a scenario can make; the dashboard evaluates each.
var Checks = map[string]CheckSpec{
	"leader":           {1, "X leads"},
	"leader-not":       {1, "some node other than X leads"},
	"no-leader":        {0, "no node leads"},
	"split":            {2, "X and Y campaigned in one term and each refused the other its vote"},
	"denied":           {2, "X refused Y's vote or pre-vote"},
	"granted":          {2, "X granted Y its vote"},
	"uncommitted":      {2, "X holds entry N but has not committed it"},
	"committed":        {2, "X has committed entry N"},
	"replaced":         {3, "X's entry N is no longer the one of term T (another took its place, or it is gone)"},
	"on-nodes":         {3, "entry N of term T is in the logs of at least K nodes (N T K)"},
	"behind":           {2, "X refused Y its vote because Y's log is behind X's"},
	"isolated":         {1, "X is cut off from some of its peers"},
	"commit-skips":     {3, "X's commit index never stops from E up to F-1: entry E (of an earlier term) commits only with F (X E F)"},
	"converged":        {0, "every node up holds the same log, all of it committed"},
	"term-unchanged":   {1, "no node's term is above T"},
	"caught-up":        {1, "X holds the leader's whole log and has committed as far"},
	"rejected":         {1, "X refused an AppendEntries (its log did not match)"},
	"snapshot-sent":    {1, "a snapshot was sent to X (InstallSnapshot)"},
	"compacted":        {1, "the leader's log starts after X's ends: X can only be caught up by a snapshot"},
	"learner":          {1, "X is a learner in the leader's configuration"},
	"voter":            {1, "X is a voter in the leader's configuration"},
	"removed":          {1, "X is not in the leader's configuration"},
	"paused":           {1, "X is paused"},
	"partitioned":      {1, "X is cut off from every peer"},
	"candidate":        {1, "X campaigned (became a candidate)"},
	"term-above":       {1, "some node leads a term above T"},
	"leader-committed": {0, "the leader has committed an entry of its own term"},
}

// bindKinds are what a name can be bound to; the ones marked take an
// optional node name after them.
var bindKinds = map[string]bool{"leader": false, "follower": false, "term": true, "last": true, "next": true, "addr": true}

// bindHelp lists the bind values for errors.
const bindHelp = "leader, follower, term, term {x}, last, last {x}, next, next {x}, addr {x}"

// ErrInvalid is wrapped by every error about a scenario's content.
var ErrInvalid = errors.New("invalid scenario")

//go:embed builtin/*.yaml
var builtin embed.FS

// Builtin returns the scenarios easykv comes with, in name order; the
// caller must not change them. They are parsed once.
func Builtin() []*Scenario { return builtinScenarios() }

var builtinScenarios = sync.OnceValue(func() []*Scenario {
	out, err := loadFS(builtin, "builtin")
	if err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	return out
})

// Load returns the scenarios in dir, one .yaml file each, in name order.
func Load(dir string) ([]*Scenario, error) {
	if _, err := os.ReadDir(dir); err != nil {
		return nil, err // a missing directory is no empty one
	}
	return loadFS(os.DirFS(dir), ".")
}

func loadFS(fsys fs.FS, dir string) ([]*Scenario, error) {
	names, err := fs.Glob(fsys, filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []*Scenario
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		s, err := Parse(strings.TrimSuffix(filepath.Base(name), ".yaml"), data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(name), err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Merge returns base with the scenarios of extra added, one of extra
// replacing the one of base with its name, in name order.
func Merge(base, extra []*Scenario) []*Scenario {
	out := slices.DeleteFunc(slices.Clone(base), func(b *Scenario) bool {
		return slices.ContainsFunc(extra, func(e *Scenario) bool { return e.Name == b.Name })
	})
	out = append(out, extra...)
	slices.SortFunc(out, func(a, b *Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// file is a scenario file as YAML has it.
type file struct {
	Title   string `yaml:"title"`
	Summary string `yaml:"summary"`
	Nodes   int    `yaml:"nodes"`
	Slow    int64  `yaml:"slow"`
	Steps   []struct {
		Say    string    `yaml:"say"`
		Why    string    `yaml:"why"`
		Paper  string    `yaml:"paper"`
		Look   string    `yaml:"look"`
		Bind   yaml.Node `yaml:"bind"`
		Do     []string  `yaml:"do"`
		Expect []string  `yaml:"expect"`
		Wait   string    `yaml:"wait"`
	} `yaml:"steps"`
}

// namePattern is what a scenario's name and a bound name look like.
var namePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// refPattern finds {name} references.
var refPattern = regexp.MustCompile(`\{([^{}]*)\}`)

// Parse reads the scenario called name from its file's data.
func Parse(name string, data []byte) (*Scenario, error) {
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("%w: name %q: want lower-case letters, digits and dashes", ErrInvalid, name)
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalid, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	s := &Scenario{Name: name, Title: strings.TrimSpace(f.Title), Summary: strings.TrimSpace(f.Summary), Nodes: f.Nodes, Slow: f.Slow}
	switch {
	case s.Title == "":
		return nil, fmt.Errorf("%w: missing key: title", ErrInvalid)
	case len(f.Steps) == 0:
		return nil, fmt.Errorf("%w: no steps", ErrInvalid)
	case s.Nodes == 0:
		s.Nodes = 3
	case s.Nodes < 1:
		return nil, fmt.Errorf("%w: nodes %d: want at least 1", ErrInvalid, s.Nodes)
	}
	if s.Slow == 0 {
		s.Slow = 10
	}
	if s.Slow < 1 || s.Slow > 100 {
		return nil, fmt.Errorf("%w: slow %d: want 1 to 100", ErrInvalid, s.Slow)
	}
	bound := map[string]bool{}
	for i, fs := range f.Steps {
		where := func(format string, args ...any) error {
			return fmt.Errorf("%w: step %d: %s", ErrInvalid, i+1, fmt.Sprintf(format, args...))
		}
		st := Step{Say: strings.TrimSpace(fs.Say), Why: strings.TrimSpace(fs.Why), Paper: fs.Paper, Look: strings.TrimSpace(fs.Look), Do: fs.Do}
		if st.Say == "" {
			return nil, where("missing key: say")
		}
		if fs.Wait != "" {
			var n int
			if _, err := fmt.Sscanf(fs.Wait, "%d timeouts", &n); err == nil && n > 0 && strings.HasSuffix(fs.Wait, " timeouts") {
				st.WaitTimeouts = n
			} else if d, err := time.ParseDuration(fs.Wait); err == nil && d > 0 {
				st.Wait = d
			} else {
				return nil, where("wait %q: want a duration such as 30s, or N timeouts", fs.Wait)
			}
		}
		binds, err := parseBind(&fs.Bind, bound)
		if err != nil {
			return nil, where("%v", err)
		}
		st.Bind = binds
		for _, line := range st.Do {
			if err := checkRefs(line, bound); err != nil {
				return nil, where("do %q: %v", line, err)
			}
		}
		for _, text := range fs.Expect {
			c, err := parseCheck(text)
			if err != nil {
				return nil, where("expect %q: %v", text, err)
			}
			if err := checkRefs(text, bound); err != nil {
				return nil, where("expect %q: %v", text, err)
			}
			st.Expect = append(st.Expect, c)
		}
		s.Steps = append(s.Steps, st)
	}
	return s, nil
}

// parseBind reads a step's bind mapping, in order, marking the names
// bound.
func parseBind(n *yaml.Node, bound map[string]bool) ([]Binding, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, errors.New("bind: want name: what pairs")
	}
	var out []Binding
	for i := 0; i+1 < len(n.Content); i += 2 {
		name, value := n.Content[i].Value, strings.Fields(n.Content[i+1].Value)
		if !namePattern.MatchString(name) {
			return nil, fmt.Errorf("bind %q: want lower-case letters, digits and dashes", name)
		}
		if bound[name] {
			return nil, fmt.Errorf("bind %q: bound in an earlier step", name)
		}
		if len(value) == 0 || len(value) > 2 {
			return nil, fmt.Errorf("bind %s: want one of %s", name, bindHelp)
		}
		takesNode, ok := bindKinds[value[0]]
		if !ok || (len(value) == 2 && !takesNode) {
			return nil, fmt.Errorf("bind %s: %q: want one of %s", name, n.Content[i+1].Value, bindHelp)
		}
		b := Binding{Name: name, What: value[0]}
		if len(value) == 2 {
			of := strings.TrimSuffix(strings.TrimPrefix(value[1], "{"), "}")
			if !bound[of] {
				return nil, fmt.Errorf("bind %s: %s is not bound before it", name, value[1])
			}
			b.Of = of
		}
		bound[name] = true
		out = append(out, b)
	}
	return out, nil
}

// parseCheck reads one expect line.
func parseCheck(text string) (Check, error) {
	fields := strings.Fields(text)
	c := Check{Text: text}
	if len(fields) > 0 && fields[0] == "always" {
		c.Always, fields = true, fields[1:]
	}
	if len(fields) == 0 {
		return c, errors.New("no check")
	}
	spec, ok := Checks[fields[0]]
	if !ok {
		return c, fmt.Errorf("unknown check %q", fields[0])
	}
	c.Name, c.Args = fields[0], fields[1:]
	if len(c.Args) != spec.Args {
		return c, fmt.Errorf("%s takes %d arguments, got %d", c.Name, spec.Args, len(c.Args))
	}
	return c, nil
}

// checkRefs says whether every {name} in s is bound.
func checkRefs(s string, bound map[string]bool) error {
	for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
		if !bound[m[1]] {
			return fmt.Errorf("{%s} is not bound by this step or an earlier one", m[1])
		}
	}
	return nil
}

// Expand replaces each {name} in s by its value in names.
func Expand(s string, names map[string]string) string {
	return refPattern.ReplaceAllStringFunc(s, func(ref string) string {
		if v, ok := names[ref[1:len(ref)-1]]; ok {
			return v
		}
		return ref
	})
}
