package main

import (
	"fmt"
	"html"
	"math"
	"os"
	"strings"
	"time"
)

// The latency plot: every operation as a dot at (start, latency), latency
// on a log scale, coloured by outcome; fault windows shaded behind, with
// their kind written at the top; leader changes as ticks along the top.
// Plain SVG, written by hand: any browser shows it.

const (
	plotW, plotH                   = 1200, 520
	padL, padR, padTop, padBot     = 70, 20, 84, 50
	maxDots                        = 40000
	latMinLog10, latMaxLog10       = -1.0, 4.3 // 0.1 ms .. 20 s
	okColor, failColor, unkColor   = "#2f9e44", "#1c7ed6", "#e03131"
	leaderColor, axisColor, txtCol = "#7048e8", "#495057", "#212529"
)

// faultColor is the shade of a fault kind.
func faultColor(kind string) string {
	switch kind {
	case "partition-leader":
		return "#ffd8a8"
	case "partition-half":
		return "#ffec99"
	case "partition-bridge":
		return "#d8f5a2"
	case "kill":
		return "#ffc9c9"
	case "restart":
		return "#fcc2d7"
	case "pause":
		return "#d0bfff"
	case "membership":
		return "#a5d8ff"
	case "clientdrop":
		return "#e9ecef"
	}
	return "#dee2e6"
}

func writeLatencySVG(path string, res *runResult) error {
	var end time.Duration
	for _, o := range res.ops {
		end = max(end, o.End)
	}
	for _, f := range res.faults {
		end = max(end, f.End)
	}
	if end <= 0 {
		end = time.Second
	}
	x := func(t time.Duration) float64 {
		return padL + float64(t)/float64(end)*(plotW-padL-padR)
	}
	y := func(lat time.Duration) float64 {
		ms := math.Max(float64(lat)/float64(time.Millisecond), math.Pow(10, latMinLog10))
		v := math.Min(math.Log10(ms), latMaxLog10)
		return padTop + (latMaxLog10-v)/(latMaxLog10-latMinLog10)*(plotH-padTop-padBot)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", plotW, plotH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14" fill="%s">raftlist fault test, seed %d: latency of every operation (%s)</text>`+"\n",
		padL, txtCol, res.o.Seed, verdict(res))

	// Fault windows, with their kind at the top (in three rows, so
	// neighbours and overlapping faults do not overwrite each other).
	for i, f := range res.faults {
		fe := f.End
		if fe == 0 {
			fe = end
		}
		x0, x1 := x(f.Start), x(fe)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" opacity="0.6"><title>%s</title></rect>`+"\n",
			x0, padTop, math.Max(x1-x0, 1), plotH-padTop-padBot, faultColor(f.Kind), html.EscapeString(f.Kind+": "+f.Detail))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9" fill="%s">%s</text>`+"\n", x0+1, padTop-6-12*(i%3), txtCol, html.EscapeString(f.Kind))
	}

	// Axes and grid.
	fmt.Fprintf(&b, `<g stroke="%s" stroke-width="1">`+"\n", axisColor)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d"/>`, padL, plotH-padBot, plotW-padR, plotH-padBot)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d"/>`+"\n", padL, padTop, padL, plotH-padBot)
	b.WriteString("</g>\n")
	for e := -1; e <= 4; e++ {
		lat := time.Duration(math.Pow(10, float64(e)) * float64(time.Millisecond))
		yy := y(lat)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ced4da" stroke-dasharray="2,3"/>`, padL, yy, plotW-padR, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="%s">%s</text>`+"\n", padL-6, yy+4, txtCol, latLabel(lat))
	}
	step := tickStep(end)
	for t := time.Duration(0); t <= end; t += step {
		xx := x(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`, xx, plotH-padBot, xx, plotH-padBot+4, axisColor)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="%s">%gs</text>`+"\n", xx, plotH-padBot+16, txtCol, t.Seconds())
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" fill="%s">seconds since the workload started</text>`+"\n", (padL+plotW-padR)/2, plotH-12, txtCol)
	fmt.Fprintf(&b, `<text x="16" y="%d" transform="rotate(-90 16 %d)" text-anchor="middle" fill="%s">latency (log scale)</text>`+"\n",
		(padTop+plotH-padBot)/2, (padTop+plotH-padBot)/2, txtCol)

	// Leader changes: a tick at the top of the plot with the new leader.
	for _, s := range res.leaders.changes() {
		xx := x(s.At)
		id := s.ID
		if id == "" {
			id = "none"
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="2"><title>leader %s (term %d) at %.1fs</title></line>`+"\n",
			xx, padTop, xx, padTop+10, leaderColor, id, s.Term, s.At.Seconds())
	}

	// Dots: every failed and unknown operation, and ok ones thinned to fit.
	nok := 0
	for _, o := range res.ops {
		if o.Outcome == ok {
			nok++
		}
	}
	every := 1
	if nok > maxDots {
		every = (nok + maxDots - 1) / maxDots
	}
	var dots [3]strings.Builder
	i := 0
	for _, o := range res.ops {
		if o.Outcome == ok {
			if i++; i%every != 0 {
				continue
			}
		}
		fmt.Fprintf(&dots[o.Outcome], `<circle cx="%.1f" cy="%.1f" r="1.6"/>`, x(o.Start), y(o.latency()))
	}
	for oc, col := range []string{okColor, failColor, unkColor} {
		fmt.Fprintf(&b, `<g fill="%s" fill-opacity="0.55">%s</g>`+"\n", col, dots[oc].String())
	}

	// Legend.
	lx := padL
	for _, item := range []struct{ col, label string }{
		{okColor, "ok"}, {failColor, "failed (not applied)"}, {unkColor, "unknown outcome"},
		{leaderColor, "leader change (sampled every 250 ms)"}, {"#ced4da", "shaded: fault windows"},
	} {
		fmt.Fprintf(&b, `<circle cx="%d" cy="%d" r="4" fill="%s"/><text x="%d" y="%d" fill="%s">%s</text>`+"\n",
			lx, 34, item.col, lx+7, 38, txtCol, item.label)
		lx += 20 + 6*len(item.label)
	}
	if every > 1 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="%s" font-size="9">(one ok operation in %d drawn)</text>`+"\n", padL+4, padTop+12, txtCol, every)
	}
	b.WriteString("</svg>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func latLabel(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%gms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	default:
		return fmt.Sprintf("%ds", d/time.Second)
	}
}

// tickStep picks a round step giving at most about 15 ticks.
func tickStep(end time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second,
		15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
		15 * time.Minute, 30 * time.Minute, time.Hour} {
		if end/s <= 15 {
			return s
		}
	}
	return 2 * time.Hour
}
