package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// reconFigures are the parts of bench/recon's results make bench folds in.
type reconFigures struct {
	ReconLines     int64   `json:"recon_lines"`
	ReconLinesPerS float64 `json:"recon_lines_per_s"`
	ReconPeakRSSMB float64 `json:"recon_peak_rss_mb"`
	MemoryFlat     bool    `json:"memory_flat"`
	MeasuredAt     string  `json:"measured_at"`
}

// runRecon runs bench/recon (make bench-recon's program) in a child, or with -recon
// reuse reads bench/results/recon.json (make bench-recon's last results), and folds
// its figures in, with its whole report under "recon". A run here leaves recon.json,
// which docs/reconciliation.md quotes, as make bench-recon wrote it.
func runRecon(ctx context.Context, o options, res *Results) error {
	path := filepath.Join(o.root, "bench", "results", "recon.json")
	if o.recon == "run" {
		work, err := os.MkdirTemp("", "payflow-bench-recon-out-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		path = filepath.Join(work, "recon.json")
		say("reconciliation: go run ./bench/recon -sizes %s -repeat %d", o.reconSizes, o.reconRepeat)
		cmd := exec.CommandContext(ctx, "go", "run", "./bench/recon", "-out", path, "-sizes", o.reconSizes,
			"-repeat", fmt.Sprint(o.reconRepeat))
		cmd.Dir = o.root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("bench/recon: %w", err)
		}
		res.ReconSource = fmt.Sprintf("measured in this run (bench/recon -sizes %s -repeat %d)", o.reconSizes, o.reconRepeat)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reconciliation figures: %w (make bench-recon writes them)", err)
	}
	var f reconFigures
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if o.recon == "reuse" {
		res.ReconSource = "reused from bench/results/recon.json measured at " + f.MeasuredAt
	}
	res.Recon = json.RawMessage(b)
	res.ReconLines, res.ReconLinesPerS, res.ReconPeakRSSMB, res.ReconMemoryFlat = f.ReconLines, round2(f.ReconLinesPerS), f.ReconPeakRSSMB, f.MemoryFlat
	return nil
}
