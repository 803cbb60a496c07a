package main

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/raftlist/raftlist/cluster"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "raftlist.conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigFileSetsEveryFlagAndTheCommandLineWins(t *testing.T) {
	path := writeConfig(t, `# a comment, then blank lines

listen 127.0.0.2:7000
  id   "node a"
bootstrap yes
REDIRECT no
heartbeat-timeout 3s
proto-max-bulk-len 2mb
max-entry-size 1gb
maxclients 50
timeout 30
client-output-buffer-limit normal 1mb 512kb 10
log-level 'debug'
join ""
`)
	exp := cluster.OutputBufferLimit{Hard: 1 << 20, Soft: 512 << 10, SoftSeconds: 10}
	for _, args := range [][]string{
		{path, "--maxclients", "60"},
		{"--config", path, "--maxclients", "60"},
		{"--maxclients", "60", "--config=" + path},
	} {
		f, err := parseServerFlags(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		got := []any{f.listen, f.id, f.bootstrap, f.redirect, f.heartbeat, f.maxBulkLen, f.maxEntrySize, f.maxClients, f.idleTimeout, f.outputLimit, f.logLevel, f.raftAddr}
		want := []any{"127.0.0.2:7000", "node a", true, false, 3 * time.Second, cluster.ByteSize(2 << 20), cluster.ByteSize(1 << 30), 60, seconds(30 * time.Second), exp, "debug", "127.0.0.2:17000"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\nexp %v\ngot %v", args, want, got)
		}
	}
}

func TestConfigFileErrorsNameTheFileAndLine(t *testing.T) {
	cases := []struct{ name, text, exp string }{
		{"unknown keyword", "listen 127.0.0.1:7000\nappendonly yes\n", "at line 2\n>>> 'appendonly yes'\nBad directive or wrong number of arguments"},
		{"too many words", "maxclients 1 2\n", "at line 1\n>>> 'maxclients 1 2'\nwrong number of arguments"},
		{"bad boolean", "\nbootstrap true\n", "at line 2\n>>> 'bootstrap true'\nargument must be 'yes' or 'no'"},
		{"bad value", "timeout soon\n", "at line 1\n>>> 'timeout soon'\nInvalid argument 'soon' for timeout"},
		{"unbalanced quotes", "id \"a\n", "at line 1\n>>> 'id \"a'\nUnbalanced quotes in configuration line"},
		{"a quote not ending a word", "id \"a\"b\n", "Unbalanced quotes"},
		{"the config key itself", "config other.conf\n", "Bad directive"},
		{"a class raftlist does not have", "client-output-buffer-limit replica 1mb 1mb 1\n", "raftlist has only normal clients"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.text)
			_, err := parseServerFlags([]string{path})
			if err == nil || !strings.Contains(err.Error(), tc.exp) {
				t.Fatalf("exp an error containing %q, got %v", tc.exp, err)
			}
			if !strings.Contains(err.Error(), "FATAL CONFIG FILE ERROR") || !strings.Contains(err.Error(), path) {
				t.Fatalf("exp Redis's banner and the file's path, got %v", err)
			}
		})
	}
	if _, err := parseServerFlags([]string{"/nonexistent/raftlist.conf"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/raftlist.conf") {
		t.Fatalf("a missing file: exp an error naming it, got %v", err)
	}
}

func TestSplitArgsQuotesAsRedis(t *testing.T) {
	cases := []struct {
		line string
		exp  []string
	}{
		{`a b   c`, []string{"a", "b", "c"}},
		{`key "two words"`, []string{"key", "two words"}},
		{`key "esc \"q\" \n \x41\x4a \\"`, []string{"key", "esc \"q\" \n AJ \\"}},
		{`key 'it\'s \n'`, []string{"key", `it's \n`}},
		{`key ""`, []string{"key", ""}},
	}
	for _, tc := range cases {
		got, err := splitArgs(tc.line)
		if err != nil || !reflect.DeepEqual(got, tc.exp) {
			t.Errorf("%s: exp %q, got %q (%v)", tc.line, tc.exp, got, err)
		}
	}
}

func TestConfigValuesAreTheEffectiveSettingsInRedisForm(t *testing.T) {
	f, err := parseServerFlags([]string{"--listen", "127.0.0.3:7001", "--bootstrap", "--data", "/var/lib/raftlist/a"})
	if err != nil {
		t.Fatal(err)
	}
	v := configValues(f.fs)
	for key, exp := range map[string]string{
		"port": "7001", "bind": "127.0.0.3", "dir": "/var/lib/raftlist/a", "id": "node-7001",
		"raft": "127.0.0.3:17001", "bootstrap": "yes", "redirect": "no", "maxclients": "10000",
		"timeout": "0", "proto-max-bulk-len": "67108864", "max-entry-size": "134217728",
		"client-output-buffer-limit": "normal 268435456 67108864 60",
	} {
		if v[key] != exp {
			t.Errorf("%s: exp %q, got %q", key, exp, v[key])
		}
	}
	if _, ok := v[configFileFlag]; ok {
		t.Errorf("the config file's own flag is not a setting")
	}
}

// TestExampleConfigListsEveryFlag keeps docs/raftlist.conf.example
// truthful: it is generated from the flags, and a flag added, renamed or
// given a new default makes this fail until the file is regenerated with
// RAFTLIST_WRITE_EXAMPLE=1 go test ./cmd/raftlist -run TestExampleConfig.
func TestExampleConfigListsEveryFlag(t *testing.T) {
	f, err := parseServerFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	text := exampleConfig(f.fs) // DefValue: the defaults, not what parsing worked out
	path := filepath.Join("..", "..", "docs", "raftlist.conf.example")
	if os.Getenv("RAFTLIST_WRITE_EXAMPLE") == "1" {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with RAFTLIST_WRITE_EXAMPLE=1)", err)
	}
	if string(data) != text {
		t.Fatalf("%s is out of date with the server's flags; regenerate it with RAFTLIST_WRITE_EXAMPLE=1 go test ./cmd/raftlist -run TestExampleConfig", path)
	}
	// The example is a valid config file: the defaults, spelled out.
	settings := 0
	for _, line := range strings.Split(text, "\n") {
		if line != "" && line[0] != '#' {
			settings++
		}
	}
	if exp := countFlags(f.fs) - len(flagAliases) - 1; settings != exp {
		t.Fatalf("exp a setting line per flag (%d), found %d", exp, settings)
	}
	if _, err := parseServerFlags([]string{path}); err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
}

func countFlags(fs *flag.FlagSet) int {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n
}
