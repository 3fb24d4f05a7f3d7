package metrics

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /metrics, /livez and /readyz for the node src. The
// node is ready once it has a leader and has applied everything up to
// startCommit, the commit index it knew when it started, so that a
// restarted node does not take traffic while it replays its log.
func (m *Metrics) Handler(src StatusSource, startCommit int64) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg}))
	mux.HandleFunc("/livez", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, probe{OK: true})
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if reason := notReady(src, startCommit); reason != "" {
			writeJSON(w, http.StatusServiceUnavailable, probe{Reason: reason})
			return
		}
		writeJSON(w, http.StatusOK, probe{OK: true})
	})
	return mux
}

// probe is a probe's JSON answer.
type probe struct {
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// notReady says why the node should not take traffic, or "" when it may.
func notReady(src StatusSource, startCommit int64) string {
	st := src.Status()
	switch {
	case st.GetPaused():
		return "paused by an admin command"
	case st.GetLeaderId() == "":
		return "no leader"
	case st.GetAppliedIndex() < startCommit:
		return fmt.Sprintf("applied %d of the %d entries committed when it started", st.GetAppliedIndex(), startCommit)
	}
	return ""
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
