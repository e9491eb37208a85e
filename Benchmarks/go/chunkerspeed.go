// Throughput of restic's Go chunker (github.com/restic/chunker) on the same bytes as
// Tools/chunker-speed: splitmix64(seed) words written little-endian, polynomial 0x3DA3358B4DC173.
// Prints the chunk count and an FNV-1a hash of the chunk end offsets. Built by chunker-vs-go.sh.
package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/restic/chunker"
)

func splitmixBytes(n int, seed uint64) []byte {
	out := make([]byte, n+8)
	state := seed
	for i := 0; i < n; i += 8 {
		state += 0x9E3779B97F4A7C15
		z := state
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		binary.LittleEndian.PutUint64(out[i:], z)
	}
	return out[:n]
}

func arg(i int, def int) int {
	if len(os.Args) > i {
		if v, err := strconv.Atoi(os.Args[i]); err == nil {
			return v
		}
	}
	return def
}

func main() {
	mib := arg(1, 256)
	rounds := arg(2, 5)
	seed := uint64(arg(3, 1))
	data := splitmixBytes(mib<<20, seed)
	pol := chunker.Pol(0x3DA3358B4DC173)
	buf := make([]byte, chunker.MaxSize)
	// Fills the polynomial's table cache outside the timed rounds.
	chunker.New(bytes.NewReader(nil), pol).Next(buf)

	best := time.Duration(1 << 62)
	var count int
	var hash uint64
	for r := 0; r < rounds; r++ {
		start := time.Now()
		c := chunker.New(bytes.NewReader(data), pol)
		count, hash = 0, 0xcbf29ce484222325
		var end uint64
		for {
			chunk, err := c.Next(buf)
			if err == io.EOF {
				break
			}
			if err != nil {
				panic(err)
			}
			count++
			end += uint64(chunk.Length)
			for k := 0; k < 8; k++ {
				hash ^= (end >> (8 * k)) & 0xff
				hash *= 0x100000001b3
			}
		}
		if d := time.Since(start); d < best {
			best = d
		}
	}
	fmt.Printf("go chunker:    %d MiB, %d chunks, boundaries %016x, best of %d: %.3f s, %.1f MB/s\n",
		mib, count, hash, rounds, best.Seconds(), float64(mib<<20)/best.Seconds()/1e6)
}
