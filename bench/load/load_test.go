package load

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	require.Equal(t, 50*time.Millisecond, Percentile(d, 50))
	require.Equal(t, 99*time.Millisecond, Percentile(d, 99))
	require.Equal(t, time.Duration(0), Percentile(nil, 50))
}

func TestMeasureAndMerge(t *testing.T) {
	ok := Measure(50*time.Millisecond, 2, func(context.Context) error { time.Sleep(time.Millisecond); return nil })
	require.Positive(t, ok.Done)
	require.Zero(t, ok.Errors)
	bad := Measure(20*time.Millisecond, 1, func(context.Context) error { time.Sleep(time.Millisecond); return errors.New("no") })
	require.Zero(t, bad.Done)
	require.Equal(t, "no", bad.FirstError)

	m := Merge(ok, bad)
	require.Equal(t, ok.Done, m.Done)
	require.Equal(t, bad.Errors, m.Errors)
	require.Equal(t, ok.Elapsed+bad.Elapsed, m.Elapsed)
	require.InDelta(t, float64(ok.Done)/(ok.Elapsed+bad.Elapsed).Seconds(), m.PerSecond, 1e-9)
	require.Equal(t, "no", m.FirstError)
}
