// SPDX-License-Identifier: Apache-2.0
package ctxbench

import (
	"context"
	"fmt"
	"testing"
)

// key is an unexported key type, as Go's documentation asks for.
type key int

// BenchmarkValue looks up the key stored `depth` layers up a WithValue chain
// (depth 1: the leaf itself holds it).
func BenchmarkValue(b *testing.B) {
	for _, depth := range []int{1, 8, 64} {
		ctx := context.Background()
		for i := 0; i < depth; i++ {
			ctx = context.WithValue(ctx, key(i), i)
		}
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ctx.Value(key(0))
			}
		})
	}
}

// Go's BenchmarkDeepValueSameGoRoutine: a missing key through `depth` layers.
func BenchmarkDeepValueSameGoRoutine(b *testing.B) {
	for _, depth := range []int{10, 100} {
		ctx := context.Background()
		for i := 0; i < depth; i++ {
			ctx = context.WithValue(ctx, i, i)
		}

		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ctx.Value(-1)
			}
		})
	}
}
