package ledger_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/payflow/payflow/internal/harness/devstack"
)

// TestFactsAreNeverUpdatedOrDeleted greps the whole repository: no statement updates
// or deletes journals, entries, holds, hold closures, bank transfer records, events or
// webhook attempts, whether written as SQL or through gorm. A correction is a new
// journal; a delivery's state is derived from its attempts. The one exception is the
// retention purge (internal/store/retention.go), which may delete events and webhook
// attempts past their PAYFLOW_RETENTION_* — never update them, and never touch the
// money facts, which are kept for good.
func TestFactsAreNeverUpdatedOrDeleted(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root, err := devstack.RepoRoot(wd)
	if err != nil {
		t.Fatal(err)
	}
	tables := `(journals|entries|holds|hold_closures|bank_transfers|events|webhook_attempts)`
	rows := `(journalRow|entryRow|holdRow|holdClosureRow|bankTransferRow|eventRow|webhookAttemptRow)`
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`(?i)\bupdate\s+` + "`?" + tables + "`?" + `\b`),
		regexp.MustCompile(`(?i)\bdelete\s+from\s+` + "`?" + tables + "`?" + `\b`),
		regexp.MustCompile(`(?i)\btruncate\s+(table\s+)?` + tables + `\b`),
		regexp.MustCompile(`Model\(&` + rows + `\{\}\)[^\n]*\.(Update|Updates|UpdateColumn|UpdateColumns|Delete)\(`),
		regexp.MustCompile(`\.(Delete|Save)\(&` + rows),
		regexp.MustCompile(`Table\("` + tables + `"\)[^\n]*\.(Update|Updates|UpdateColumn|UpdateColumns|Delete)\(`),
	}
	// retention may delete these tables' rows, and nothing else, in this one file.
	retentionFile := filepath.Join(root, "internal", "store", "retention.go")
	retention := regexp.MustCompile(`(?i)^delete\s+from\s+` + "`?" + `(events|webhook_attempts)` + "`?" + `$`)
	var scanned int
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", ".payflow", "node_modules", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if path == filepath.Join(root, "internal", "ledger", "appendonly_test.go") {
			return nil
		}
		// The reconciliation's end-to-end test tampers with its stack's database on
		// purpose, as a damaged copy would be (a journal deleted, a pair moved
		// across midnight): that is what reconciliation must find. It puts the
		// journal back before the suite's ledger check.
		if path == filepath.Join(root, "internal", "harness", "e2e", "reconciliation_test.go") {
			return nil
		}
		// Tests date the entries they set up (a balance at a day's end) through one
		// helper, testenv.DateEntries, and nowhere else.
		if path == filepath.Join(root, "internal", "harness", "testenv", "entries.go") {
			return nil
		}
		ext := filepath.Ext(path)
		if ext != ".go" && ext != ".sql" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text := string(b)
		if ext == ".sql" {
			// A migration's Down section may drop what its Up created.
			if i := strings.Index(text, "-- +goose Down"); i >= 0 {
				text = text[:i]
			}
		}
		scanned++
		for _, re := range patterns {
			for _, loc := range re.FindAllStringIndex(text, -1) {
				if path == retentionFile && retention.MatchString(text[loc[0]:loc[1]]) {
					continue
				}
				line := strings.Count(text[:loc[0]], "\n") + 1
				t.Errorf("%s:%d: %q changes an append-only table", path, line, text[loc[0]:loc[1]])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 20 {
		t.Fatalf("scanned only %d files: the walk is broken", scanned)
	}
}
