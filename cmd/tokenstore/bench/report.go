package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is one run's outcome: one entry per kind of operation the workload
// sent (mixed sends two), in a fixed order.
type Report struct {
	Workload string   `json:"workload"`
	URLs     []string `json:"urls"`
	Clients  int      `json:"clients"`
	// TargetRate is --rate (0: unpaced).
	TargetRate float64 `json:"target_rate,omitempty"`
	// Seconds is the time from the start until the last answer came back.
	Seconds    float64    `json:"seconds"`
	Operations []OpReport `json:"operations"`
}

// OpReport is one kind of operation: how many succeeded (a 2xx answer),
// their rate and latency, and the failures by HTTP status ("transport" for
// requests that got no answer), with the first answer of each status.
type OpReport struct {
	Name      string  `json:"name"`
	Count     int64   `json:"count"`
	Errors    int64   `json:"errors"`
	PerSecond float64 `json:"per_second"`
	// Latency is of the successful operations, in milliseconds.
	Latency        Latency           `json:"latency_ms"`
	ErrorsByStatus map[string]int64  `json:"errors_by_status,omitempty"`
	ErrorSamples   map[string]string `json:"error_samples,omitempty"`
	hist           *Histogram
}

// Latency holds percentiles, the maximum and the mean, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func latencyOf(h *Histogram) Latency {
	return Latency{P50: ms(h.Quantile(0.5)), P90: ms(h.Quantile(0.9)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(h.Max()), Mean: ms(h.Mean())}
}

// Op returns the named operation's figures; a zero OpReport when the run
// sent none.
func (r Report) Op(name string) OpReport {
	for _, o := range r.Operations {
		if o.Name == name {
			return o
		}
	}
	return OpReport{Name: name}
}

// Errors is the failures of every operation together.
func (r Report) Errors() int64 {
	var n int64
	for _, o := range r.Operations {
		n += o.Errors
	}
	return n
}

// finish fills in the figures derived from the counts.
func (o *OpReport) finish(seconds float64) {
	o.Count = int64(o.hist.Count())
	o.Latency = latencyOf(o.hist)
	if seconds > 0 {
		o.PerSecond = float64(o.Count) / seconds
	}
}

// Merge adds up reports of the same workload (rounds of one benchmark, run
// in turn): counts, errors and time add, and the percentiles are those of
// all the rounds' latencies together.
func Merge(reports ...Report) Report {
	if len(reports) == 0 {
		return Report{}
	}
	out := reports[0]
	out.Operations = nil
	out.Seconds = 0
	byName := map[string]*OpReport{}
	var order []string
	for _, r := range reports {
		out.Seconds += r.Seconds
		for _, o := range r.Operations {
			m, ok := byName[o.Name]
			if !ok {
				m = &OpReport{Name: o.Name, hist: NewHistogram()}
				byName[o.Name], order = m, append(order, o.Name)
			}
			m.merge(o)
		}
	}
	for _, name := range order {
		m := byName[name]
		m.finish(out.Seconds)
		out.Operations = append(out.Operations, *m)
	}
	return out
}

func (o *OpReport) merge(other OpReport) {
	if other.hist != nil {
		o.hist.Merge(other.hist)
	}
	o.Errors += other.Errors
	for status, n := range other.ErrorsByStatus {
		if o.ErrorsByStatus == nil {
			o.ErrorsByStatus, o.ErrorSamples = map[string]int64{}, map[string]string{}
		}
		o.ErrorsByStatus[status] += n
		if _, ok := o.ErrorSamples[status]; !ok {
			o.ErrorSamples[status] = other.ErrorSamples[status]
		}
	}
}

// WriteJSON writes the report as one JSON object.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as a table, then the errors with the first
// answer of each status.
func (r Report) WriteText(w io.Writer) error {
	pace := "unpaced"
	if r.TargetRate > 0 {
		pace = fmt.Sprintf("paced at %g/s", r.TargetRate)
	}
	fmt.Fprintf(w, "%s: %d clients over %d node(s), %.1fs, %s\n", r.Workload, r.Clients, len(r.URLs), r.Seconds, pace)
	t := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(t, "operation\tok\terrors\tper second\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\t")
	for _, o := range r.Operations {
		l := o.Latency
		fmt.Fprintf(t, "%s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", o.Name, o.Count, o.Errors, o.PerSecond,
			l.P50, l.P90, l.P99, l.P999, l.Max)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	for _, o := range r.Operations {
		for _, status := range slices.Sorted(maps.Keys(o.ErrorsByStatus)) {
			fmt.Fprintf(w, "%s errors %s: %d, first: %s\n", o.Name, status, o.ErrorsByStatus[status],
				strings.TrimSpace(o.ErrorSamples[status]))
		}
	}
	return nil
}
