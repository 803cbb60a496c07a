package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

var targetColors = map[string]string{
	tRedis:        "#999999",
	tRedisAOF:     "#d62728",
	tRedisWait:    "#ff7f0e",
	tRedisWaitAOF: "#8c564b",
	tRLLeader:     "#1f77b4",
	tRLFollower:   "#2ca02c",
}

// svg draws throughput against client count: one panel per matrix
// workload and pipeline depth, one line per target. Client counts are
// spaced evenly (they are roughly logarithmic).
func (r *report) svg() string {
	type key struct {
		workload string
		pipeline int
	}
	series := map[key]map[string]map[int]float64{}
	clientSet := map[int]bool{}
	var panels []key
	for _, g := range r.groups() {
		if g.workload == wlEval || g.workload == wlMulti || g.workload == wlLock {
			continue
		}
		k := key{g.workload, g.pipeline}
		if series[k] == nil {
			series[k] = map[string]map[int]float64{}
			panels = append(panels, k)
		}
		clientSet[g.clients] = true
		for t, res := range g.by {
			if series[k][t] == nil {
				series[k][t] = map[int]float64{}
			}
			series[k][t][g.clients] = res.throughput()
		}
	}
	var clients []int
	for c := range clientSet {
		clients = append(clients, c)
	}
	sort.Ints(clients)
	pipes := map[int]bool{}
	var works []string
	for _, p := range panels {
		pipes[p.pipeline] = true
		if !contains(works, p.workload) {
			works = append(works, p.workload)
		}
	}
	var pipeList []int
	for p := range pipes {
		pipeList = append(pipeList, p)
	}
	sort.Ints(pipeList)

	const pw, ph, ml, mt, gap = 230, 170, 55, 40, 30
	width := ml + len(works)*(pw+gap)
	height := mt + len(pipeList)*(ph+gap+25) + 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">Throughput (ops/s) vs clients — raftlist (3 nodes) and redis-server, one run on one machine</text>`+"\n", ml)
	for row, pipe := range pipeList {
		for col, w := range works {
			k := key{w, pipe}
			x0 := ml + col*(pw+gap)
			y0 := mt + row*(ph+gap+25)
			data := series[k]
			top := 0.0
			for _, pts := range data {
				for _, v := range pts {
					top = math.Max(top, v)
				}
			}
			top = niceCeil(top)
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s, pipeline %d</text>`+"\n", x0, y0+10, w, pipe)
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`+"\n", x0, y0+18, pw, ph)
			px := func(i int) float64 {
				if len(clients) == 1 {
					return float64(x0) + pw/2
				}
				return float64(x0) + 12 + float64(i)*(pw-24)/float64(len(clients)-1)
			}
			py := func(v float64) float64 {
				if top == 0 {
					return float64(y0 + 18 + ph)
				}
				return float64(y0+18+ph) - v/top*(ph-10)
			}
			for _, frac := range []float64{0, 0.5, 1} {
				y := py(top * frac)
				fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", x0, x0+pw, y, y)
				fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", x0-3, y+4, fmtOps(top*frac))
			}
			for i, c := range clients {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%d</text>`+"\n", px(i), y0+18+ph+13, c)
			}
			for _, t := range targetOrder {
				pts := data[t]
				if len(pts) == 0 {
					continue
				}
				var coords []string
				for i, c := range clients {
					if v, ok := pts[c]; ok {
						coords = append(coords, fmt.Sprintf("%.1f,%.1f", px(i), py(v)))
					}
				}
				fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(coords, " "), targetColors[t])
				for _, xy := range coords {
					var x, y float64
					fmt.Sscanf(xy, "%f,%f", &x, &y)
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`+"\n", x, y, targetColors[t])
				}
			}
		}
	}
	ly := height - 18
	for i, t := range targetOrder {
		x := ml + i*170
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", x, x+20, ly-4, ly-4, targetColors[t])
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+25, ly, t)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">x: clients</text>`+"\n", width-80, ly)
	b.WriteString("</svg>\n")
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
