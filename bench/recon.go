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

// runRecon runs bench/recon (make bench-recon) in a child, which writes
// bench/results/recon.json, or with -recon reuse reads the one already there, and
// folds its figures in.
func runRecon(ctx context.Context, o options, res *Results) error {
	path := filepath.Join(o.root, "bench", "results", "recon.json")
	if o.recon == "run" {
		say("reconciliation: go run ./bench/recon -sizes %s -repeat %d", o.reconSizes, o.reconRepeat)
		cmd := exec.CommandContext(ctx, "go", "run", "./bench/recon", "-out", path, "-sizes", o.reconSizes,
			"-repeat", fmt.Sprint(o.reconRepeat))
		cmd.Dir = o.root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("bench/recon: %w", err)
		}
		res.ReconSource = "measured in this run (bench/results/recon.json)"
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
	res.ReconLines, res.ReconLinesPerS, res.ReconPeakRSSMB, res.ReconMemoryFlat = f.ReconLines, round2(f.ReconLinesPerS), f.ReconPeakRSSMB, f.MemoryFlat
	return nil
}
