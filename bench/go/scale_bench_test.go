// SPDX-License-Identifier: Apache-2.0
package ctxbench

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"sort"
	"testing"
	"time"
)

// BenchmarkFanOut: a parent with N WithCancel children; the time from the
// parent's cancel() until every child has been observed done. Setup is not
// timed. DoneMaterialized calls every child's Done() first (Go then allocates
// a channel per child, and the cancel closes each).
func BenchmarkFanOut(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("children=%d", n), func(b *testing.B) { fanOut(b, n, false) })
	}
	b.Run("children=100000/DoneMaterialized", func(b *testing.B) { fanOut(b, 100000, true) })
}

func fanOut(b *testing.B, n int, materialize bool) {
	children := make([]context.Context, n)
	cancels := make([]context.CancelFunc, n)
	var total time.Duration
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		parent, cancel := context.WithCancel(context.Background())
		for j := range children {
			children[j], cancels[j] = context.WithCancel(parent)
		}
		if materialize {
			for _, c := range children {
				c.Done()
			}
		}
		b.StartTimer()
		start := time.Now()
		cancel()
		for _, c := range children {
			select {
			case <-c.Done():
			default:
				b.Fatal("child not done")
			}
		}
		total += time.Since(start)
		b.StopTimer()
		for _, f := range cancels {
			f()
		}
	}
	b.ReportMetric(float64(total.Nanoseconds())/float64(n*b.N), "ns/child")
}

// rssBytes returns the resident set size from /proc/self/statm.
func rssBytes() float64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	fmt.Sscan(string(data), &size, &resident)
	return float64(resident * int64(os.Getpagesize()))
}

func heapBytes() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc)
}

// BenchmarkMillionTimeouts: one million live WithTimeout contexts (random
// 1-10 s). One round whatever b.N is (run with -benchtime=1x); reports
// create_ns, cancel_ns or parent_cancel_ms, heap_B (live heap after a GC) and
// rss_B per context, like million_bench.cc.
func BenchmarkMillionTimeouts(b *testing.B) {
	b.Run("plain", func(b *testing.B) { millionTimeouts(b, false) })
	b.Run("UnderParent", func(b *testing.B) { millionTimeouts(b, true) })
}

func millionTimeouts(b *testing.B, underParent bool) {
	const n = 1000000
	rng := rand.New(rand.NewSource(1))
	timeouts := make([]time.Duration, n)
	for i := range timeouts {
		timeouts[i] = time.Second + time.Duration(rng.Int63n(int64(9*time.Second)))
	}
	cancels := make([]context.CancelFunc, n)
	root, parentCancel := context.Background(), context.CancelFunc(func() {})
	if underParent {
		var cancel context.CancelFunc
		root, cancel = context.WithCancel(root)
		defer cancel()
		parentCancel = cancel
	}
	heap0, rss0 := heapBytes(), rssBytes()
	b.ResetTimer()
	start := time.Now()
	for i := range cancels {
		_, cancels[i] = context.WithTimeout(root, timeouts[i])
	}
	create := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(create.Nanoseconds())/n, "create_ns")
	b.ReportMetric((heapBytes()-heap0)/n, "heap_B")
	b.ReportMetric((rssBytes()-rss0)/n, "rss_B")
	start = time.Now()
	if underParent {
		parentCancel()
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/1e6, "parent_cancel_ms")
	} else {
		for _, f := range cancels {
			f()
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/n, "cancel_ns")
	}
	for _, f := range cancels {
		f()
	}
}

// BenchmarkTimerLateness: how long after its deadline a waiting goroutine sees
// a context done, with 100,000 other timers armed (outstanding: for 1-10 s;
// firing: spread over the next second). One round whatever b.N is; reports
// p50/p99/max in microseconds, like lateness_bench.cc.
func BenchmarkTimerLateness(b *testing.B) {
	b.Run("outstanding=100000", func(b *testing.B) { timerLateness(b, false) })
	b.Run("firing=100000", func(b *testing.B) { timerLateness(b, true) })
}

func timerLateness(b *testing.B, firing bool) {
	const timers, probes = 100000, 800
	rng := rand.New(rand.NewSource(42))
	lo, hi := time.Second, 10*time.Second
	if firing {
		lo, hi = 10*time.Millisecond, time.Second
	}
	load := make([]context.CancelFunc, timers)
	for i := range load {
		_, load[i] = context.WithTimeout(context.Background(), lo+time.Duration(rng.Int63n(int64(hi-lo))))
	}
	lateness := make([]float64, 0, probes)
	for i := 0; i < probes; i++ {
		timeout := 500*time.Microsecond + time.Duration(rng.Int63n(int64(1500*time.Microsecond)))
		c, cancel := context.WithTimeout(context.Background(), timeout)
		deadline, _ := c.Deadline()
		<-c.Done()
		lateness = append(lateness, float64(time.Since(deadline).Nanoseconds())/1e3)
		cancel()
	}
	for _, f := range load {
		f()
	}
	sort.Float64s(lateness)
	pct := func(p float64) float64 { return lateness[int(p*float64(len(lateness)-1))] }
	b.ReportMetric(pct(0.50), "p50_us")
	b.ReportMetric(pct(0.99), "p99_us")
	b.ReportMetric(pct(1.0), "max_us")
}
