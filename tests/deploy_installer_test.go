package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makePKI runs deploy/make-pki.sh for nodes node1..node3 on 10.0.0.1..3.
func makePKI(t *testing.T) (root, pki string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	pki = filepath.Join(t.TempDir(), "pki")
	cmd := exec.Command(filepath.Join(root, "deploy/make-pki.sh"), pki, "node1=10.0.0.1", "node2=10.0.0.2", "node3=10.0.0.3")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-pki.sh: %v\n%s", err, out)
	}
	return root, pki
}

// dryRun runs install-node.sh --dry-run with args and returns its output
// and whether it succeeded.
func dryRun(t *testing.T, root string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(root, "deploy/install-node.sh"), "--dry-run", "--binary", binary}, args...)...)
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// execStart returns the words of the unit's ExecStart line.
func execStart(t *testing.T, plan string) []string {
	t.Helper()
	for _, line := range strings.Split(plan, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "ExecStart=") {
			return strings.Fields(strings.TrimPrefix(l, "ExecStart="))
		}
	}
	t.Fatalf("no ExecStart in the plan:\n%s", plan)
	return nil
}

// flagValue returns the word after flag in words.
func flagValue(words []string, flag string) string {
	if i := slices.Index(words, flag); i >= 0 && i+1 < len(words) {
		return words[i+1]
	}
	return ""
}

func TestInstallerDryRunPlansAnAuthenticatedTLSNodeThatNeverBootstraps(t *testing.T) {
	root, pki := makePKI(t)
	plan, ok := dryRun(t, root, "--id", "node1", "--ip", "10.0.0.1", "--pki", pki,
		"--bootstrap-expect", "3", "--join", "10.0.0.1,10.0.0.2,10.0.0.3")
	if !ok {
		t.Fatalf("install-node.sh --dry-run failed:\n%s", plan)
	}
	for _, want := range []string{
		"install -d -m 0750 -o root -g raftlist /etc/raftlist",
		"install -m 0600 -o raftlist -g raftlist " + pki + "/cluster-secret /etc/raftlist/cluster-secret",
		"install -m 0600 -o raftlist -g raftlist " + pki + "/requirepass /etc/raftlist/requirepass",
		"install -m 0644 -o raftlist -g raftlist " + pki + "/ca.crt /etc/raftlist/tls/ca.crt",
		"install -m 0644 -o raftlist -g raftlist " + pki + "/node1.crt /etc/raftlist/tls/node.crt",
		"install -m 0600 -o raftlist -g raftlist " + pki + "/node1.key /etc/raftlist/tls/node.key",
		"systemctl restart raftlist.service",
	} {
		if !strings.Contains(plan, "[dry-run] "+want+"\n") {
			t.Errorf("plan: exp the action %q, got:\n%s", want, plan)
		}
	}
	words := execStart(t, plan)
	for flag, exp := range map[string]string{
		"--tls-listen":          "10.0.0.1:6379",
		"--raft":                "10.0.0.1:7379",
		"--tls-cert-file":       "/etc/raftlist/tls/node.crt",
		"--tls-key-file":        "/etc/raftlist/tls/node.key",
		"--tls-ca-cert-file":    "/etc/raftlist/tls/ca.crt",
		"--cluster-secret-file": "/etc/raftlist/cluster-secret",
		"--requirepass-file":    "/etc/raftlist/requirepass",
		"--bootstrap-expect":    "3",
		"--join":                "10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6379",
		"--join-timeout":        "2m",
	} {
		if got := flagValue(words, flag); got != exp {
			t.Errorf("ExecStart %s: exp %q, got %q (%s)", flag, exp, got, strings.Join(words, " "))
		}
	}
	if slices.Contains(words, "--bootstrap") || !slices.Contains(words, "--listen=") {
		t.Errorf("ExecStart: exp TLS only (--listen=) and never --bootstrap, got %s", strings.Join(words, " "))
	}
	for _, name := range []string{"cluster-secret", "requirepass"} {
		secret, _ := os.ReadFile(filepath.Join(pki, name))
		if strings.Contains(plan, strings.TrimSpace(string(secret))) {
			t.Errorf("the plan prints the %s", name)
		}
	}

	t.Run("the unit's command line is one the server accepts", func(t *testing.T) {
		// --help after the unit's flags: every flag name and value must
		// parse (a misspelt flag fails before --help is reached); the
		// installed files are not read.
		args := words[2:]
		args = append(slices.Clone(args), "--help")
		out, err := exec.Command(binary, append([]string{"server"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("raftlist server %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	})
}

func TestInstallerRefusesBootstrapAndUnfitCertificates(t *testing.T) {
	root, pki := makePKI(t)
	for _, tc := range []struct {
		name string
		args []string
		exp  string
	}{
		{"--bootstrap", []string{"--id", "node1", "--ip", "10.0.0.1", "--pki", pki, "--bootstrap"}, "--bootstrap is gone"},
		{"positional bootstrap", []string{"node1", "10.0.0.1", "bootstrap"}, "'bootstrap' is gone"},
		{"a certificate for another IP", []string{"--id", "node2", "--ip", "10.0.0.9", "--pki", pki, "--join", "10.0.0.1"}, "no subjectAltName for 10.0.0.9"},
		{"--bootstrap-expect 1", []string{"--id", "node1", "--ip", "10.0.0.1", "--pki", pki, "--bootstrap-expect", "1", "--join", "10.0.0.2"}, "2 or more"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, ok := dryRun(t, root, tc.args...)
			if ok || !strings.Contains(out, tc.exp) {
				t.Fatalf("exp failure with %q, got ok=%v:\n%s", tc.exp, ok, out)
			}
		})
	}
}

func TestInstallerOptOutsArePlainAndSaySo(t *testing.T) {
	root, _ := makePKI(t)
	plan, ok := dryRun(t, root, "--id", "node2", "--ip", "10.0.0.2", "--join", "10.0.0.1",
		"--insecure-no-tls", "--insecure-no-auth")
	if !ok {
		t.Fatalf("dry run failed:\n%s", plan)
	}
	words := execStart(t, plan)
	if got := flagValue(words, "--listen"); got != "10.0.0.2:6379" {
		t.Errorf("ExecStart --listen: exp 10.0.0.2:6379, got %q", got)
	}
	for _, w := range words {
		if strings.HasPrefix(w, "--tls") || w == "--requirepass-file" || w == "--bootstrap" {
			t.Errorf("ExecStart: exp no %s with the opt-outs, got %s", w, strings.Join(words, " "))
		}
	}
	for _, warning := range []string{"--insecure-no-tls", "--insecure-no-auth"} {
		if !strings.Contains(plan, "WARNING: "+warning) {
			t.Errorf("plan: exp a warning about %s, got:\n%s", warning, plan)
		}
	}
}

func TestInstallerScriptsPassShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck not installed (apt-get install -y shellcheck)")
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("shellcheck", filepath.Join(root, "deploy/install-node.sh"), filepath.Join(root, "deploy/make-pki.sh")).CombinedOutput()
	if err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
}
