package cluster

import "testing"

func TestParseBytesReadsRedisUnits(t *testing.T) {
	cases := []struct {
		in  string
		exp int64
		ok  bool
	}{
		{"0", 0, true}, {"1024", 1024, true}, {"1k", 1000, true}, {"1kb", 1024, true},
		{"64mb", 64 << 20, true}, {"2M", 2e6, true}, {"1GB", 1 << 30, true}, {"5b", 5, true},
		{"-1", 0, false}, {"mb", 0, false}, {"1.5mb", 0, false}, {"99999999999gb", 0, false}, {"", 0, false},
	}
	for _, tc := range cases {
		got, err := ParseBytes(tc.in)
		if (err == nil) != tc.ok || got != tc.exp {
			t.Errorf("%q: exp %d (ok %v), got %d (%v)", tc.in, tc.exp, tc.ok, got, err)
		}
	}
}

func TestOutputBufferLimitTakesRedisSyntax(t *testing.T) {
	var l OutputBufferLimit
	if err := l.Set("NORMAL 256mb 64mb 60"); err != nil {
		t.Fatal(err)
	}
	if exp := (OutputBufferLimit{Hard: 256 << 20, Soft: 64 << 20, SoftSeconds: 60}); l != exp {
		t.Fatalf("exp %+v, got %+v", exp, l)
	}
	if exp, got := "normal 268435456 67108864 60", l.String(); got != exp {
		t.Fatalf("exp %q, got %q", exp, got)
	}
	for _, bad := range []string{"normal 1 2", "pubsub 1 2 3", "normal x 1 1", "normal 1 1 -1", "normal 1 1 1 replica 1 1 1"} {
		if err := l.Set(bad); err == nil {
			t.Errorf("%q: exp an error", bad)
		}
	}
}
