package server_test

import (
	"go/build"
	"strings"
	"testing"
)

// The merchant and ops handlers decode, authorize, call a service (package starter)
// and map its errors: they hold no database transaction and start no workflow
// themselves, so they import neither gorm nor the workflows.
func TestHandlersImportNeitherGormNorWorkflows(t *testing.T) {
	for _, dir := range []string{"../merchant", "../ops"} {
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("read %s: %v", dir, err)
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, "gorm.io/") || imp == "github.com/payflow/payflow/workflows" {
				t.Errorf("%s imports %s: its handlers must go through a service in package starter", pkg.ImportPath, imp)
			}
		}
	}
}
