package e2e

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
)

// issued holds every merchant secret the suite was given (created or rotated through
// the ops API), to search the logs and the databases for after the suite.
var issued struct {
	sync.Mutex
	secrets     []string
	merchantIDs []string
	rotations   int
}

// rememberSecret records a secret the API handed out, at a merchant's creation or at
// a rotation.
func rememberSecret(merchantID, secret string, rotated bool) {
	issued.Lock()
	defer issued.Unlock()
	issued.secrets = append(issued.secrets, secret)
	issued.merchantIDs = append(issued.merchantIDs, merchantID)
	if rotated {
		issued.rotations++
	}
}

// spellings are the forms a leaked secret could take in a log or a column: as is, and
// hex or base64 encoded.
func spellings(secret string) []string {
	b := []byte(secret)
	return []string{
		secret,
		hex.EncodeToString(b),
		base64.StdEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b),
		base64.RawURLEncoding.EncodeToString(b),
	}
}

// checkNoSecretsAtRest searches every process's log (one file for the whole suite)
// and every table of every stack's database (and of its bank simulator) for the demo
// merchant's secrets and every secret the suite was issued. It also checks that it searched
// where the merchants are: a search of an empty log or the wrong database proves
// nothing.
func checkNoSecretsAtRest(ctx context.Context, stacks []*Stack, logPath string) error {
	issued.Lock()
	secrets := append([]string{DemoSecret, DemoWebhookSecret}, issued.secrets...)
	merchantIDs := append([]string{}, issued.merchantIDs...)
	rotations := issued.rotations
	issued.Unlock()
	var errs []error
	logs, err := os.ReadFile(logPath)
	if err != nil {
		return fmt.Errorf("read the process logs: %w", err)
	}
	if len(merchantIDs) > rotations && !strings.Contains(string(logs), "merchant created") ||
		rotations > 0 && !strings.Contains(string(logs), "merchant secret rotated") {
		errs = append(errs, errors.New("secret check: the process logs hold no line of the merchant creations or rotations the suite made: the check does not look where the processes log"))
	}
	for i, s := range secrets {
		for _, sp := range spellings(s) {
			if strings.Contains(string(logs), sp) {
				errs = append(errs, fmt.Errorf("secret check: secret #%d is in the process logs in clear (as %q...)", i, sp[:8]))
			}
		}
	}
	var dumps strings.Builder
	for _, s := range stacks {
		for _, dsn := range []string{s.DSN, "sqlite://" + filepath.Join(s.Opts.WorkDir, "banksim.db")} {
			db, err := store.Open(dsn, 2)
			if err != nil {
				errs = append(errs, fmt.Errorf("secret check: open %s database: %w", s.Opts.Name, err))
				continue
			}
			dump, err := testenv.DumpTables(ctx, db)
			db.Close()
			if err != nil {
				errs = append(errs, fmt.Errorf("secret check: dump %s database: %w", s.Opts.Name, err))
				continue
			}
			dumps.WriteString(dump)
		}
	}
	all := dumps.String()
	for _, id := range append([]string{"mch_demo"}, merchantIDs...) {
		if !strings.Contains(all, "merchants\tid="+id+"\t") {
			errs = append(errs, fmt.Errorf("secret check: merchant %s is in no database dump: the check looks in the wrong place", id))
		}
	}
	for i, s := range secrets {
		for _, sp := range spellings(s) {
			if strings.Contains(all, sp) {
				errs = append(errs, fmt.Errorf("secret check: secret #%d is in a database in clear (as %q...)", i, sp[:8]))
			}
		}
	}
	return errors.Join(errs...)
}
