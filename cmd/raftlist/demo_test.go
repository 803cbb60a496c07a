package main

import (
	"slices"
	"strings"
	"testing"
)

func TestLedgerVerifyFindsLostDoubledAndInventedElements(t *testing.T) {
	l := newLedger()
	l.set("a", acked)
	l.set("b", acked)
	l.set("u", uncertain)
	l.set("r", refused)
	tests := []struct {
		name  string
		list  []string
		wants []string // substrings of the failures, in order; none means clean
	}{
		{"acknowledged once and uncertain absent is clean", []string{"a", "b"}, nil},
		{"an uncertain element may be present once", []string{"a", "u", "b"}, nil},
		{"a lost acknowledged element is reported", []string{"a"}, []string{`acknowledged "b" is missing`}},
		{"a doubled element is reported", []string{"a", "b", "a"}, []string{`"a" is in the list 2 times`}},
		{"an uncertain element twice is reported", []string{"a", "b", "u", "u"}, []string{`"u" is in the list 2 times`}},
		{"a refused element that appears is reported", []string{"a", "b", "r"}, []string{`"r" is in the list although`}},
		{"an element never written is reported", []string{"a", "b", "x"}, []string{`"x" is in the list but was never written`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := l.verify(tt.list)
			if len(got) != len(tt.wants) {
				t.Fatalf("exp %d failures %v, got %v", len(tt.wants), tt.wants, got)
			}
			for i, w := range tt.wants {
				if !strings.Contains(got[i], w) {
					t.Errorf("exp %q in failure %d, got %q", w, i, got[i])
				}
			}
		})
	}
}

func TestClusterUpFlagsPassWhatFollowsDoubleDashToTheServers(t *testing.T) {
	cfg, _, err := parseClusterUpFlags([]string{"--nodes", "5", "--port", "7600", "--dir", "/tmp/x", "--", "--election-timeout", "300ms"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Nodes != 5 || cfg.BasePort != 7600 || cfg.Dir != "/tmp/x" || cfg.Host != "127.0.0.1" {
		t.Fatalf("exp 5 nodes from 7600 in /tmp/x on 127.0.0.1, got %+v", cfg)
	}
	if exp := []string{"--election-timeout", "300ms"}; !slices.Equal(cfg.ExtraArgs, exp) {
		t.Fatalf("exp extra args %v, got %v", exp, cfg.ExtraArgs)
	}
	for _, bad := range [][]string{{"stray"}, {"--nodes", "0"}, {"--port", "60000"}} {
		if _, _, err := parseClusterUpFlags(bad); err == nil {
			t.Errorf("exp an error for %v", bad)
		}
	}
}
