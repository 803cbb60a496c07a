package main

import (
	"strings"
	"testing"
)

func TestSplitJoinReadsACommaSeparatedListOfAddresses(t *testing.T) {
	for _, tc := range []struct{ in, exp, err string }{
		{in: "", exp: ""},
		{in: "10.0.0.1:6379", exp: "10.0.0.1:6379"},
		{in: "10.0.0.1:6379,10.0.0.2:7000", exp: "10.0.0.1:6379,10.0.0.2:7000"},
		{in: "10.0.0.1, node2 ,", exp: "10.0.0.1:6379,node2:6379"},
		{in: "a:1,a:1,b:2", exp: "a:1,b:2"},
		{in: "[::1]:6379,[::2]", exp: "[::1]:6379,[::2]:6379"},
		{in: ",", err: "no address"},
		{in: "::1", err: "too many colons"},
	} {
		got, err := splitJoin(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("splitJoin(%q): exp error with %q, got %v, %v", tc.in, tc.err, got, err)
			}
			continue
		}
		if err != nil || strings.Join(got, ",") != tc.exp {
			t.Errorf("splitJoin(%q): exp %q, got %q, %v", tc.in, tc.exp, strings.Join(got, ","), err)
		}
	}
}

func TestBootstrapExpectFlagsAreChecked(t *testing.T) {
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"--bootstrap-expect", "3"}, "needs --join"},
		{[]string{"--bootstrap-expect", "1", "--join", "a:1"}, "want 2 or more"},
		{[]string{"--bootstrap-expect", "3", "--bootstrap"}, "exclude each other"},
		{[]string{"--join", "a:1", "--join-timeout", "0s"}, "want a positive duration"},
	} {
		_, err := parseServerFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("server %v: exp error with %q, got %v", tc.args, tc.err, err)
		}
	}
}
