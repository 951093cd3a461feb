package bench

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// histogramSubBits sets the precision of Histogram: values below
// 2^histogramSubBits microseconds are counted exactly, larger ones in
// buckets 2^-(histogramSubBits-1) wide relative to their value, so a
// reported percentile is never more than 0.8% above the true one.
const histogramSubBits = 8

const (
	histogramExact = 1 << histogramSubBits       // values counted one by one
	histogramHalf  = 1 << (histogramSubBits - 1) // sub-buckets per power of two beyond
)

// Histogram records latencies at microsecond resolution in log-linear
// buckets, like HdrHistogram: memory stays a few kilobytes however many
// samples a long run records, and percentiles keep a bounded relative
// error. It is safe for concurrent use.
type Histogram struct {
	mu     sync.Mutex
	counts []int64
	count  int64
	sum    float64
	min    int64
	max    int64
}

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram { return &Histogram{min: math.MaxInt64} }

// bucketOf maps a value in microseconds to its bucket index.
func bucketOf(v int64) int {
	if v < histogramExact {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - histogramSubBits
	return histogramExact + (shift-1)*histogramHalf + int(v>>shift) - histogramHalf
}

// bucketHigh is the largest value that falls into bucket i.
func bucketHigh(i int) int64 {
	if i < histogramExact {
		return int64(i)
	}
	shift := (i-histogramExact)/histogramHalf + 1
	sub := int64((i-histogramExact)%histogramHalf + histogramHalf)
	return (sub+1)<<shift - 1
}

// Record adds one latency; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(d.Microseconds(), 0)
	i := bucketOf(v)
	h.mu.Lock()
	defer h.mu.Unlock()
	if i >= len(h.counts) {
		grown := make([]int64, max(i+1, 2*len(h.counts)))
		copy(grown, h.counts)
		h.counts = grown
	}
	h.counts[i]++
	h.count++
	h.sum += float64(v)
	h.min = min(h.min, v)
	h.max = max(h.max, v)
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.count
}

// Percentile returns the value at or below which q (0..1) of the samples
// lie, rounded up to its bucket's highest value and clipped to the
// maximum; zero when the histogram is empty.
func (h *Histogram) Percentile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return time.Duration(h.percentileLocked(q)) * time.Microsecond
}

func (h *Histogram) percentileLocked(q float64) int64 {
	if h.count == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.count)))
	rank = min(max(rank, 1), h.count)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(max(bucketHigh(i), h.min), h.max)
		}
	}
	return h.max
}

// Summary is the part of a histogram a report shows, in milliseconds.
type Summary struct {
	Count int64   `json:"count"`
	Min   float64 `json:"min_ms"`
	Mean  float64 `json:"mean_ms"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

// Summary computes the percentiles a report shows.
func (h *Histogram) Summary() Summary {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.count == 0 {
		return Summary{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Summary{
		Count: h.count,
		Min:   ms(h.min),
		Mean:  h.sum / float64(h.count) / 1000,
		P50:   ms(h.percentileLocked(0.50)),
		P90:   ms(h.percentileLocked(0.90)),
		P99:   ms(h.percentileLocked(0.99)),
		P999:  ms(h.percentileLocked(0.999)),
		Max:   ms(h.max),
	}
}
