package main

import (
	"strings"
	"testing"
)

func TestQueueProblemsFindJobsHandedOutAndKeptLostOrInvented(t *testing.T) {
	jobs := []string{"job-1", "job-2", "job-3"}
	handed := map[string]string{"job-1": "b1", "job-2": "b2"}
	tests := []struct {
		name  string
		list  []string
		wants []string // substrings of the problems, in order; none means clean
	}{
		{"handed-out jobs gone and the rest kept once is clean", []string{"job-3"}, nil},
		{"a job both handed out and kept is reported", []string{"job-1", "job-3"}, []string{"job-1 was handed to b1 and is also still in"}},
		{"a job neither handed out nor kept is reported", nil, []string{"acknowledged job-3 is neither in"}},
		{"a job kept twice is reported", []string{"job-3", "job-3"}, []string{`job-3 is in "demo:queue" 2 times`}},
		{"a job never pushed is reported", []string{"job-3", "job-9"}, []string{"job-9 is in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := queueProblems(jobs, handed, tt.list)
			if len(got) != len(tt.wants) {
				t.Fatalf("exp %d problems %v, got %v", len(tt.wants), tt.wants, got)
			}
			for i, w := range tt.wants {
				if !strings.Contains(got[i], w) {
					t.Errorf("exp %q in problem %d, got %q", w, i, got[i])
				}
			}
		})
	}
}
