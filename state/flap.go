package state

// Flap detection, as Nagios does it: over a target's last 21 results (20
// transitions between them), the percent state change weights each change
// by how recent it is, and a hysteresis between flap_low and flap_high
// turns the percentage into a verdict that does not chatter itself.

// flapResults is how many results the history holds: 21, as in Nagios,
// so that there are flapTransitions transitions between them.
const (
	flapResults     = 21
	flapTransitions = flapResults - 1
)

// flapWeightOldest and flapWeightNewest are the weights of a state change
// at the oldest and the newest of the 20 transitions (Nagios core's
// low_curve_value and high_curve_value); those between rise linearly.
// Their mean is 1, so a change at every transition makes 100%.
const (
	flapWeightOldest = 0.75
	flapWeightNewest = 1.25
)

// flapHistory is Nagios' flap detection over the last 21 results of a
// target. It is a small value (copy it, compare it with ==); add returns
// the history with one more result, the receiver unchanged. The zero value
// is an empty history.
type flapHistory struct {
	// fails holds the results, newest in bit 0: a set bit is a failure.
	// Only the low n bits mean anything; the others are always zero.
	fails uint32
	// n is how many results there are, at most flapResults.
	n uint8
}

// flapMask keeps the bits of the last flapResults results.
const flapMask = 1<<flapResults - 1

// add returns h with the result ok as its newest, the oldest of 21
// dropped.
func (h flapHistory) add(ok bool) flapHistory {
	h.fails <<= 1
	if !ok {
		h.fails |= 1
	}
	h.fails &= flapMask
	if h.n < flapResults {
		h.n++
	}
	return h
}

// flapWeight is the weight of a state change at transition i, counted from
// the newest (i = 0, between the two newest results) to the oldest
// (i = 19): Nagios' (x−1)·(1.25−0.75)/19 + 0.75 with x = 20−i.
func flapWeight(i int) float64 {
	return flapWeightOldest + float64(flapTransitions-1-i)*(flapWeightNewest-flapWeightOldest)/(flapTransitions-1)
}

// percent is the weighted percent state change of h, from 0 (no change)
// to 100 (a change at every transition):
//
//	percent = 100 · Σ w(i) over transitions i with a state change / 20
//
// with w rising linearly from 0.75 at the oldest transition to 1.25 at the
// newest, so a change weighs more the more recent it is.
//
// Before 21 results have been seen, only the transitions between results
// actually seen are counted, each with the weight of its place counted
// from the newest, and the sum is still divided by 20: the results not
// yet seen count as no change (Nagios starts with a history of one state),
// but unlike Nagios no change is invented between the first result and a
// state before it. A young history can therefore only under-report: a
// target is not called flapping on its second result; reaching 50% takes
// at least 9 changes (9 at the newest transitions make 51.5%, 8 at most
// 46.3%), so at least 10 results.
func (h flapHistory) percent() float64 {
	// Bit i of changes is set when results i and i+1 differ.
	changes := h.fails ^ h.fails>>1
	sum := 0.0
	for i := 0; i < int(h.n)-1; i++ {
		if changes>>i&1 != 0 {
			sum += flapWeight(i)
		}
	}
	return sum * 100 / flapTransitions
}

// flapping applies hysteresis: a target starts flapping when percent ≥
// high, stops when percent < low; was is the previous verdict.
//
// Between low and high the verdict stays what it was, so a percentage
// hovering near one threshold does not make it chatter. high is checked
// first: with low = high a target is flapping at that percentage. A
// percentage of 0 (no state change among the last 21 results) is never
// flapping: flap_low: 0% then means "until the results are stable" rather
// than "forever", and flap_high: 0% does not call a steady target
// flapping. (Nagios stops at percent ≤ low; tocsin keeps its verdict at
// exactly low, save at 0.)
func flapping(was bool, pct, high, low float64) bool {
	switch {
	case pct >= high && pct > 0:
		return true
	case pct < low || pct == 0:
		return false
	}
	return was
}
