package banksim

import (
	"os"
	"path/filepath"
	"testing"
)

func TestNewCreatesTheStore(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"relative path in a new directory", filepath.Join(".payflow", "banksim.db")},
		{"URI-special characters", "bank sim?#%.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			s, err := New(Config{DBPath: tt.path, Logger: testLogger()})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, err := os.Stat(tt.path); err != nil {
				t.Fatalf("store not at %q: %v", tt.path, err)
			}
			// Opening again finds the schema in place.
			s, err = New(Config{DBPath: tt.path, Logger: testLogger()})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			s.Close()
		})
	}
}

func TestNewRequiresADBPath(t *testing.T) {
	if _, err := New(Config{Logger: testLogger()}); err == nil {
		t.Fatal("New without DBPath succeeded")
	}
}
