package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/easykv/easykv/netlink/pb"
	"github.com/easykv/easykv/scenario"
)

const (
	// sceneTick is how often a running scenario checks what happened.
	sceneTick = 100 * time.Millisecond
	// defaultTravel is how long a message should take to cross from one
	// card to another while a scenario runs: the slow-motion factor is
	// chosen from it and the cluster's heartbeat.
	defaultTravel = 800 * time.Millisecond
	// sceneWaitTimeouts is how many (slowed) election timeouts a step's
	// checks have by default, and minSceneWait the least.
	sceneWaitTimeouts = 6
	minSceneWait      = 10 * time.Second
	// sceneAdminTimeout bounds each admin call a scenario makes itself.
	sceneAdminTimeout = 5 * time.Second
)

// sceneTickMsg drives a running scenario.
type sceneTickMsg struct{ run *sceneRun }

// sceneAdminMsg is the end of the admin calls a scenario makes itself
// (slow motion at the start, the restore at the end).
type sceneAdminMsg struct {
	run  *sceneRun
	errs []string
	// restored: these were the restoring calls; the scenario is over.
	restored bool
}

// checkState is one check of the current step and how it resolved.
type checkState struct {
	check scenario.Check
	// args are the check's arguments with names replaced.
	args []string
	// text is the check as written, names replaced.
	text string
	// passed or failed once resolved; result says what happened.
	passed, failed bool
	result         string
}

func (c *checkState) resolved() bool { return c.passed || c.failed }

// sceneRun is a scenario under way on the connected cluster.
type sceneRun struct {
	sc *scenario.Scenario
	// factor is the slow-motion factor it runs at, for messages that take
	// travel to arrive.
	factor int64
	travel time.Duration
	// resolvedAt is when the current step's checks had all resolved; piped
	// mode goes on two travel times later, so that a recording shows the
	// results before the next step.
	resolvedAt time.Time
	// step is the current step's index; len(Steps) once all are done.
	step int
	// names are the bound names and their values.
	names map[string]string
	// checks are the current step's.
	checks []*checkState
	// began is when the current step's commands were sent, deadline when
	// its checks run out of time.
	began, deadline time.Time
	// facts are what the nodes reported since the step began.
	facts *sceneFacts
	// passed and failed count the checks resolved so far, all steps.
	passed, failed int
	// restoring says the restore calls are out; the run ends when they
	// come back.
	restoring bool
	// note is the narrator's last word about the run itself (a binding
	// that failed, the restore).
	note string
}

// scenarios are the ones this dashboard knows: the built-in ones with
// the options' added.
func (m *Model) scenarios() []*scenario.Scenario {
	return scenario.Merge(scenario.Builtin(), m.opts.Scenarios)
}

// scenarioNames are the scenarios' names, in order.
func (m *Model) scenarioNames() []string {
	var names []string
	for _, s := range m.scenarios() {
		names = append(names, s.Name)
	}
	return names
}

// findScenario returns the scenario called name, or nil.
func (m *Model) findScenario(name string) *scenario.Scenario {
	for _, s := range m.scenarios() {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// scenarioCmd runs "scenario" (list them) and "scenario NAME" (run one).
func (m *Model) scenarioCmd(args []string) tea.Cmd {
	if len(args) == 0 {
		for _, s := range m.scenarios() {
			m.emit(fmt.Sprintf("%s  %s: %s", s.Name, s.Title, s.Summary))
		}
		m.setStatus("scenarios: %s (scenario NAME runs one)", strings.Join(m.scenarioNames(), ", "))
		return nil
	}
	if len(args) > 1 {
		m.setError("usage: scenario [NAME]")
		return nil
	}
	if m.scene != nil {
		m.setError("scenario %s is running: esc leaves it first", m.scene.sc.Name)
		return nil
	}
	sc := m.findScenario(args[0])
	if sc == nil {
		m.setError("scenario: unknown %q (scenarios: %s)", args[0], strings.Join(m.scenarioNames(), ", "))
		return nil
	}
	if voters := len(m.memberIDs(func(learner bool) bool { return !learner })); voters < sc.Nodes {
		m.setError("scenario %s needs %d voters; this cluster has %d", sc.Name, sc.Nodes, voters)
		return nil
	}
	if m.leaderIndex() < 0 {
		m.setError("scenario %s: no leader yet; start it once the cluster has one", sc.Name)
		return nil
	}
	run := &sceneRun{sc: sc, factor: m.sceneFactor(), travel: m.sceneTravel(), names: map[string]string{}, facts: newSceneFacts()}
	m.scene = run
	m.setStatus("scenario %s: slow motion ×%d", sc.Name, run.factor)
	m.emit(fmt.Sprintf("scenario %s: %s (slow motion ×%d)", sc.Name, sc.Title, run.factor))
	req := &pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: run.factor}
	return m.sceneAdmin(run, false, req)
}

// sceneFactor is the slow-motion factor at which a message takes about
// the scenario travel time to arrive: slow motion holds each message a
// quarter of the slowed heartbeat (raftnode's slowDelay).
func (m *Model) sceneFactor() int64 {
	travel := m.sceneTravel()
	var base time.Duration
	for _, n := range m.nodes {
		if st := n.status; st != nil && st.GetHeartbeatMs() > 0 {
			base = time.Duration(st.GetHeartbeatMs()/max(st.GetSlowFactor(), 1)) * time.Millisecond
			break
		}
	}
	if base <= 0 {
		return 1
	}
	return min(max(int64((travel*4+base/2)/base), 1), 100)
}

// sceneTravel is how long a message should take while a scenario runs.
func (m *Model) sceneTravel() time.Duration {
	if m.opts.ScenarioTravel > 0 {
		return m.opts.ScenarioTravel
	}
	return defaultTravel
}

// sceneAdmin sends reqs, in order, to every connected node, and reports
// the failures in one sceneAdminMsg.
func (m *Model) sceneAdmin(run *sceneRun, restore bool, reqs ...*pb.AdminRequest) tea.Cmd {
	type target struct {
		id   string
		conn NodeConn
	}
	var targets []target
	for _, n := range m.nodes {
		if n.conn != nil {
			targets = append(targets, target{n.node.ID, n.conn})
		}
	}
	return func() tea.Msg {
		var errs []string
		for _, t := range targets {
			for _, req := range reqs {
				ctx, cancel := context.WithTimeout(context.Background(), sceneAdminTimeout)
				resp, err := t.conn.AdminRequest(ctx, req)
				cancel()
				switch {
				case err != nil:
					errs = append(errs, fmt.Sprintf("%s: %v", t.id, err))
				case !resp.GetOk():
					errs = append(errs, fmt.Sprintf("%s: %s", t.id, resp.GetError()))
				}
			}
		}
		return sceneAdminMsg{run: run, errs: errs, restored: restore}
	}
}

// sceneAdminDone takes the end of a scenario's own admin calls: after
// the slow-motion call the first step begins; after the restore the
// scenario is over.
func (m *Model) sceneAdminDone(msg sceneAdminMsg) tea.Cmd {
	run := msg.run
	if run != m.scene {
		return nil
	}
	if len(msg.errs) > 0 {
		m.emit(fmt.Sprintf("scenario %s: %s", run.sc.Name, strings.Join(msg.errs, "; ")))
	}
	if msg.restored {
		m.scene = nil
		summary := fmt.Sprintf("scenario %s ended: %d checks passed, %d failed; the cluster is healed, resumed and at normal speed", run.sc.Name, run.passed, run.failed)
		if run.failed > 0 {
			m.setError("%s", summary)
		} else {
			m.setStatus("%s", summary)
			m.emit(summary)
		}
		return nil
	}
	return tea.Batch(m.beginStep(run), sceneTickCmd(run))
}

// sceneTickCmd wakes the scenario after sceneTick.
func sceneTickCmd(run *sceneRun) tea.Cmd {
	return tea.Tick(sceneTick, func(time.Time) tea.Msg { return sceneTickMsg{run} })
}

// beginStep binds the current step's names, sends its commands, all
// together, and arms its checks.
func (m *Model) beginStep(run *sceneRun) tea.Cmd {
	st := &run.sc.Steps[run.step]
	for _, b := range st.Bind {
		v, err := m.bind(run, b)
		if err != nil {
			run.note = fmt.Sprintf("cannot bind %s: %v", b.Name, err)
			v = "?"
		}
		run.names[b.Name] = v
	}
	m.emit(fmt.Sprintf("── step %d of %d", run.step+1, len(run.sc.Steps)))
	for _, line := range narration(st, run.names) {
		m.emit(line)
	}
	if run.note != "" {
		m.emit(errorPrefix + run.note)
		run.failed++
		run.note = ""
	}
	run.facts = newSceneFacts()
	run.checks, run.resolvedAt = nil, time.Time{}
	for _, c := range st.Expect {
		cs := &checkState{check: c, text: scenario.Expand(c.Text, run.names)}
		for _, a := range c.Args {
			cs.args = append(cs.args, scenario.Expand(a, run.names))
		}
		run.checks = append(run.checks, cs)
	}
	run.began = m.ctx.now
	run.deadline = run.began.Add(m.stepWait(st, run.factor))
	var cmds []tea.Cmd
	for _, line := range st.Do {
		line = scenario.Expand(line, run.names)
		m.emit("> " + line)
		cmds = append(cmds, m.execute(line))
	}
	return tea.Batch(cmds...)
}

// stepWait is how long a step's checks have: its wait, or a number of
// the cluster's election timeouts slowed by factor (the statuses may not
// say so yet when the first step begins).
func (m *Model) stepWait(st *scenario.Step, factor int64) time.Duration {
	if st.Wait > 0 {
		return st.Wait
	}
	var timeout time.Duration
	for _, n := range m.nodes {
		// The status reports the timeout as slowed by its own factor.
		base := n.status.GetBaseElectionTimeoutMs() / max(n.status.GetSlowFactor(), 1)
		timeout = max(timeout, time.Duration(base*factor)*time.Millisecond)
	}
	if st.WaitTimeouts > 0 {
		return time.Duration(st.WaitTimeouts) * timeout
	}
	return max(minSceneWait, sceneWaitTimeouts*timeout)
}

// narration is a step's words, one line each, names replaced.
func narration(st *scenario.Step, names map[string]string) []string {
	out := []string{scenario.Expand(st.Say, names)}
	if st.Why != "" {
		why := "why: " + scenario.Expand(st.Why, names)
		if st.Paper != "" {
			why += " (" + st.Paper + ")"
		}
		out = append(out, why)
	}
	if st.Look != "" {
		out = append(out, "look: "+scenario.Expand(st.Look, names))
	}
	return out
}

// bind is what b names in the cluster as it is now.
func (m *Model) bind(run *sceneRun, b scenario.Binding) (string, error) {
	li := m.leaderIndex()
	node := func() (*pb.NodeStatus, error) {
		if b.Of == "" {
			if li < 0 {
				return nil, errors.New("no leader")
			}
			return m.nodes[li].status, nil
		}
		i := m.nodeIndex(run.names[b.Of])
		if i < 0 || m.nodes[i].status == nil {
			return nil, fmt.Errorf("no status from %s", run.names[b.Of])
		}
		return m.nodes[i].status, nil
	}
	switch b.What {
	case "leader":
		if li < 0 {
			return "", errors.New("no leader")
		}
		return m.nodes[li].node.ID, nil
	case "follower":
		for _, id := range m.memberIDs(func(learner bool) bool { return !learner }) {
			i := m.nodeIndex(id)
			if i < 0 || i == li || m.nodes[i].status == nil || run.boundNode(id) {
				continue
			}
			return id, nil
		}
		return "", errors.New("no follower left to name")
	case "term":
		st, err := node()
		if err != nil {
			return "", err
		}
		return fmt.Sprint(st.GetTerm()), nil
	case "addr":
		i := m.nodeIndex(run.names[b.Of])
		if b.Of == "" || i < 0 {
			return "", fmt.Errorf("addr of %q: not a node", run.names[b.Of])
		}
		return m.nodes[i].node.Addr, nil
	case "last", "next":
		st, err := node()
		if err != nil {
			return "", err
		}
		if b.What == "next" {
			return fmt.Sprint(st.GetLastIndex() + 1), nil
		}
		return fmt.Sprint(st.GetLastIndex()), nil
	}
	return "", fmt.Errorf("unknown binding %q", b.What)
}

// boundNode says id is already the value of a bound name.
func (run *sceneRun) boundNode(id string) bool {
	for _, v := range run.names {
		if v == id {
			return true
		}
	}
	return false
}

// sceneTicked checks the current step, reports what resolved, and in
// piped mode goes on to the next step once all have.
func (m *Model) sceneTicked(msg sceneTickMsg) tea.Cmd {
	run := msg.run
	if run == nil || run != m.scene || run.restoring {
		return nil
	}
	m.checkStep(run)
	if m.autoSteps && run.stepResolved() {
		if run.resolvedAt.IsZero() {
			run.resolvedAt = m.ctx.now
		}
		if m.ctx.now.Sub(run.resolvedAt) >= 2*run.travel {
			return tea.Batch(m.nextStep(), sceneTickCmd(run))
		}
	}
	return sceneTickCmd(run)
}

// stepResolved says every check of the current step has resolved (or
// the steps are over).
func (run *sceneRun) stepResolved() bool {
	for _, c := range run.checks {
		if !c.resolved() {
			return false
		}
	}
	return true
}

// checkStep evaluates the checks still open.
func (m *Model) checkStep(run *sceneRun) {
	now := m.ctx.now
	for _, c := range run.checks {
		if c.resolved() {
			continue
		}
		ok, what := m.evalCheck(run, c)
		switch {
		case c.check.Always && !ok:
			c.failed, c.result = true, what
		case c.check.Always && now.After(run.deadline):
			c.passed, c.result = true, what
		case c.check.Always:
			continue // holding so far
		case ok:
			c.passed, c.result = true, what
		case now.After(run.deadline):
			c.failed, c.result = true, what
		default:
			continue
		}
		if c.passed {
			run.passed++
			m.emit("✓ " + c.result)
		} else {
			run.failed++
			m.emit(fmt.Sprintf("%s✗ expected %s; instead: %s", errorPrefix, c.text, c.result))
		}
	}
}

// nextStep goes on to the next step, or, after the last, restores the
// cluster: heal, resume, release every timer, normal speed.
func (m *Model) nextStep() tea.Cmd {
	run := m.scene
	if run == nil || run.restoring {
		return nil
	}
	for _, c := range run.checks {
		if !c.resolved() {
			run.failed++
			c.failed, c.result = true, "not resolved when the step was left"
			m.emit(fmt.Sprintf("%s✗ expected %s; instead: %s", errorPrefix, c.text, c.result))
		}
	}
	run.step++
	if run.step < len(run.sc.Steps) {
		return m.beginStep(run)
	}
	return m.leaveScene()
}

// leaveScene ends the running scenario, restoring the cluster.
func (m *Model) leaveScene() tea.Cmd {
	run := m.scene
	if run == nil || run.restoring {
		return nil
	}
	run.restoring, run.checks = true, nil
	m.setStatus("scenario %s: restoring the cluster…", run.sc.Name)
	return m.sceneAdmin(run, true,
		&pb.AdminRequest{Command: pb.AdminCommand_HEAL},
		&pb.AdminRequest{Command: pb.AdminCommand_RESUME},
		&pb.AdminRequest{Command: pb.AdminCommand_RELEASE_TIMER},
		&pb.AdminRequest{Command: pb.AdminCommand_SLOW_MOTION, SlowFactor: 1})
}
