// SPDX-License-Identifier: Apache-2.0
// Package ctxbench mirrors bench/core (ctx's Google Benchmark suite) with Go's
// context package, so bench/compare can run both in one go and print ratios.
// Benchmark names match the C++ ones; Go's own benchmarks from
// src/context/benchmark_test.go are copied with their names.
//
// Run: go test -run XXX -bench . -benchmem   (bench/compare does it for you)
package ctxbench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// ---- Create + cancel ----

func BenchmarkWithCancel(b *testing.B) {
	b.Run("Root=Background", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, cancel := context.WithCancel(context.Background())
			cancel()
		}
	})
	b.Run("Root=Live", func(b *testing.B) {
		parent, parentCancel := context.WithCancel(context.Background())
		defer parentCancel()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_, cancel := context.WithCancel(parent)
			cancel()
		}
	})
}

func BenchmarkWithTimeoutCancel(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, cancel := context.WithTimeout(context.Background(), time.Hour)
		cancel()
	}
}

// ---- Checks (Go's BenchmarkCheckCanceled and BenchmarkContextCancelDone) ----

func BenchmarkCheckCanceled(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Run("Err", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ctx.Err()
		}
	})
	b.Run("Done", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			select {
			case <-ctx.Done():
			default:
			}
		}
	})
}

func BenchmarkCheckLive(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("Done", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			select {
			case <-ctx.Done():
			default:
			}
		}
	})
}

func BenchmarkContextCancelDone(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			select {
			case <-ctx.Done():
			default:
			}
		}
	})
}

// ---- Go's BenchmarkCommonParentCancel ----

func BenchmarkCommonParentCancel(b *testing.B) {
	root := context.WithValue(context.Background(), "key", "value")
	shared, sharedcancel := context.WithCancel(root)
	defer sharedcancel()

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		x := 0
		for pb.Next() {
			ctx, cancel := context.WithCancel(shared)
			if ctx.Value("key").(string) != "value" {
				b.Fatal("should not be reached")
			}
			for i := 0; i < 100; i++ {
				x /= x + 1
			}
			cancel()
			for i := 0; i < 100; i++ {
				x /= x + 1
			}
		}
	})
}

// The busy work of CommonParentCancel alone.
func BenchmarkCommonParentCancelSpinOnly(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		x := 0
		for pb.Next() {
			for i := 0; i < 100; i++ {
				x /= x + 1
			}
			for i := 0; i < 100; i++ {
				x /= x + 1
			}
		}
	})
}

// ---- Go's BenchmarkCancelTree ----

func BenchmarkCancelTree(b *testing.B) {
	depths := []int{1, 10, 100, 1000}
	for _, d := range depths {
		b.Run(fmt.Sprintf("depth=%d", d), func(b *testing.B) {
			b.Run("Root=Background", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					buildContextTree(context.Background(), d)
				}
			})
			b.Run("Root=OpenCanceler", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					ctx, cancel := context.WithCancel(context.Background())
					buildContextTree(ctx, d)
					cancel()
				}
			})
			b.Run("Root=ClosedCanceler", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					ctx, cancel := context.WithCancel(context.Background())
					cancel()
					buildContextTree(ctx, d)
				}
			})
		})
	}
}

func buildContextTree(root context.Context, depth int) {
	for d := 0; d < depth; d++ {
		root, _ = context.WithCancel(root)
	}
}

// ---- Go's BenchmarkWithTimeout ----

func BenchmarkWithTimeout(b *testing.B) {
	for concurrency := 40; concurrency <= 4e5; concurrency *= 100 {
		name := fmt.Sprintf("concurrency=%d", concurrency)
		b.Run(name, func(b *testing.B) {
			benchmarkWithTimeout(b, concurrency)
		})
	}
}

func benchmarkWithTimeout(b *testing.B, concurrentContexts int) {
	gomaxprocs := runtime.GOMAXPROCS(0)
	perPContexts := concurrentContexts / gomaxprocs
	root := context.Background()

	var wg sync.WaitGroup
	ccf := make([][]context.CancelFunc, gomaxprocs)
	for i := range ccf {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			cf := make([]context.CancelFunc, perPContexts)
			for j := range cf {
				_, cf[j] = context.WithTimeout(root, time.Hour)
			}
			ccf[i] = cf
		}(i)
	}
	wg.Wait()

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		wcf := make([]context.CancelFunc, 10)
		for pb.Next() {
			for i := range wcf {
				_, wcf[i] = context.WithTimeout(root, time.Hour)
			}
			for _, f := range wcf {
				f()
			}
		}
	})
	b.StopTimer()

	for _, cf := range ccf {
		for _, f := range cf {
			f()
		}
	}
}
