package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"github.com/raftlist/raftlist/cluster/local"
)

// profiling fetches CPU profiles from every node while a cell runs; the
// nodes serve net/http/pprof on a port they log (--pprof 127.0.0.1:0).
type profiling struct {
	wg    sync.WaitGroup
	mu    sync.Mutex
	files []string
}

var pprofLine = regexp.MustCompile(`pprof serving: addr=(\S+)`)

func startProfiles(c *local.Cluster, dir string, warmup, measure time.Duration) *profiling {
	pr := &profiling{}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		logf("profile: %v", err)
		return pr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	leader, _ := c.Leader(ctx)
	secs := max(1, int(measure.Seconds()))
	for _, n := range c.Nodes {
		data, err := os.ReadFile(n.LogFile)
		if err != nil {
			continue
		}
		m := pprofLine.FindAllSubmatch(data, -1)
		if len(m) == 0 {
			logf("profile: %s logged no pprof address", n.ID)
			continue
		}
		addr := string(m[len(m)-1][1])
		role := "follower"
		if n == leader {
			role = "leader"
		}
		file := filepath.Join(dir, n.ID+"-"+role+".pprof")
		pr.wg.Add(1)
		go func() {
			defer pr.wg.Done()
			time.Sleep(warmup + 20*time.Millisecond)
			if err := fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), file); err != nil {
				logf("profile %s: %v", n.ID, err)
				return
			}
			pr.mu.Lock()
			pr.files = append(pr.files, file)
			pr.mu.Unlock()
		}()
	}
	return pr
}

func (pr *profiling) wait() []string {
	pr.wg.Wait()
	return pr.files
}

func fetch(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
