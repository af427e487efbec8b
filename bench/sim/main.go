// Command sim is payflow's deterministic simulation of its money flows, in the
// spirit of TigerBeetle's VOPR: the real workflows and activities run in the
// Temporal SDK's test environment (time skipping) against a model bank per channel
// that can be in every state a real one can (a reference never seen, on its way,
// executed late after a timeout, refused, processing, cancelable or not, callbacks
// lost, duplicated, reordered or forged), with worker crashes after effects
// committed, operators' cancels, retries and approvals, merchants disabled,
// deadlines and failover, all drawn from a seed. After every run it checks the
// invariants:
//
//   - each reference executed at most once across all channels;
//   - money moved at each bank equals money booked to its clearing account, and
//     nothing is booked to the router's name;
//   - no hold released, no refund reservation freed and no charge marked failed
//     while its bank may still move the money;
//   - every object ends in a final status (its flow ended), none stuck without a
//     flow;
//   - the ledger check is ok.
//
// A failure prints the seed and the shortest schedule found that still fails, and
// the command exits 1. `make sim SEEDS=N` runs seeds 1 to N (default 500);
// `-seed S` runs one.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
)

func main() {
	seeds := flag.Int("seeds", 500, "how many seeds to run (1..N)")
	first := flag.Int("from", 1, "the first seed")
	one := flag.Uint64("seed", 0, "run only this seed")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "seeds run at once")
	noSweeper := flag.Bool("no-sweeper", false, "run without the sweeper (to see what it is for)")
	shrink := flag.Bool("shrink", true, "search for the shortest failing schedule of the first failing seed")
	legacy := flag.Bool("legacy", false, "run the bank calls released before they were pinned (to see what was wrong)")
	flag.Parse()
	opts := Options{NoSweeper: *noSweeper, Legacy: *legacy}

	var list []uint64
	if *one != 0 {
		list = []uint64{*one}
	} else {
		for s := *first; s < *first+*seeds; s++ {
			list = append(list, uint64(s))
		}
	}
	start := time.Now()
	var (
		mu      sync.Mutex
		total   Report
		failed  []uint64
		errored []string
	)
	jobs := make(chan uint64)
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range jobs {
				rep, err := Run(Draw(seed), opts)
				mu.Lock()
				switch {
				case err != nil:
					errored = append(errored, fmt.Sprintf("seed %d: %v", seed, err))
				case len(rep.Violations) > 0:
					failed = append(failed, seed)
				}
				total.Flows += rep.Flows
				total.Crashes += rep.Crashes
				total.Callbacks += rep.Callbacks
				total.Forged += rep.Forged
				total.Cancels += rep.Cancels
				total.Executions += rep.Executions
				mu.Unlock()
			}
		}()
	}
	for _, s := range list {
		jobs <- s
	}
	close(jobs)
	wg.Wait()

	fmt.Printf("sim: %d seeds in %s: %d flows, %d bank executions, %d crashes after commit, %d callbacks (%d forged), %d operator cancels\n",
		len(list), time.Since(start).Round(time.Second), total.Flows, total.Executions, total.Crashes, total.Callbacks, total.Forged, total.Cancels)
	for _, e := range errored {
		fmt.Println("sim: could not run:", e)
	}
	if len(errored) > 0 {
		os.Exit(2)
	}
	if len(failed) == 0 {
		fmt.Println("sim: every invariant held")
		return
	}
	fmt.Printf("sim: %d seeds broke an invariant: %v\n", len(failed), failed)
	slices.Sort(failed)
	seed := failed[0]
	if !*shrink {
		fmt.Printf("sim: run one again with -seed %d\n", seed)
		os.Exit(1)
	}
	plan, rep := Shrink(Draw(seed), opts)
	fmt.Printf("sim: seed %d; the shortest schedule found that still fails (run it again with -seed %d):\n", seed, seed)
	out, _ := json.MarshalIndent(plan, "", "  ")
	fmt.Println(string(out))
	for _, v := range rep.Violations {
		fmt.Println("violation:", v)
	}
	os.Exit(1)
}

// shrinkRuns bounds the runs one search for a shorter schedule makes.
const shrinkRuns = 300

// Shrink searches for a smaller schedule that still breaks an invariant: it takes
// the first simplification that still fails, again and again, until none does (or
// it has run shrinkRuns schedules).
func Shrink(p Plan, opts Options) (Plan, Report) {
	rep, _ := Run(p, opts)
	runs := 0
	for {
		smaller := false
		for _, c := range p.Shrinks() {
			if runs++; runs > shrinkRuns {
				return p, rep
			}
			r, err := Run(c, opts)
			if err == nil && len(r.Violations) > 0 {
				p, rep, smaller = c, r, true
				break
			}
		}
		if !smaller {
			return p, rep
		}
	}
}
