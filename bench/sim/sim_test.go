package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A slice of what make sim runs (500 seeds): every invariant holds.
func TestSeedsHold(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rep, err := Run(Draw(seed), Options{})
		require.NoError(t, err, "seed %d", seed)
		require.Empty(t, rep.Violations, "seed %d (go run ./bench/sim -seed %d)", seed, seed)
	}
}

// The simulation finds what the defences are for: without the sweeper an object
// whose API request died between the commit and the start keeps no flow, and the
// bank calls released before they were pinned give money back while the bank may
// still move it. Seeds found by `make sim` with each defence off.
func TestSimulationFindsDefects(t *testing.T) {
	for _, tc := range []struct {
		name string
		seed uint64
		opts Options
	}{
		{"no sweeper", 3, Options{NoSweeper: true}},
		{"legacy bank calls", 1, Options{Legacy: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(Draw(tc.seed), tc.opts)
			require.NoError(t, err)
			require.NotEmpty(t, rep.Violations)
			rep, err = Run(Draw(tc.seed), Options{})
			require.NoError(t, err)
			require.Empty(t, rep.Violations, "with the defence on, seed %d holds", tc.seed)
		})
	}
}

// Shrinking keeps a failing schedule failing and never grows it.
func TestShrinkKeepsTheFailure(t *testing.T) {
	p := Draw(3)
	small, rep := Shrink(p, Options{NoSweeper: true})
	require.NotEmpty(t, rep.Violations)
	require.LessOrEqual(t, len(small.Flows), len(p.Flows))
	require.Len(t, small.Flows, 1, "one unstarted flow is all it takes")
	require.True(t, small.Flows[0].Unstarted)
}
