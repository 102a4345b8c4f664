// Package e2e starts the real tocsin binary with real configs against
// loopback targets and network namespaces the tests create themselves.
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is the tocsin built once for the whole package by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tocsin-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "tocsin")
	cmd := exec.Command("go", "build", "-race", "-o", binary, "../cmd/tocsin")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building tocsin:", err)
		return 1
	}
	return m.Run()
}

// tocsinBinary returns the path of the tocsin binary under test.
func tocsinBinary(t testing.TB) string {
	t.Helper()
	if binary == "" {
		t.Fatal("tocsin binary not built")
	}
	return binary
}
