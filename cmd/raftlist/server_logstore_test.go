package main

import (
	"strings"
	"testing"
)

func TestLogStoreFlag(t *testing.T) {
	f, err := parseServerFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if exp, got := "bolt", f.logStore; got != exp {
		t.Fatalf("default --log-store: exp %q, got %q", exp, got)
	}
	f, err = parseServerFlags([]string{"--log-store", "wal"})
	if err != nil {
		t.Fatal(err)
	}
	if exp, got := "wal", f.logStore; got != exp {
		t.Fatalf("--log-store wal: exp %q, got %q", exp, got)
	}
	_, err = parseServerFlags([]string{"--log-store", "rocks"})
	if err == nil || !strings.Contains(err.Error(), `--log-store "rocks": want one of bolt, wal`) {
		t.Fatalf("--log-store rocks: exp an error naming the choices, got %v", err)
	}
}
