// Package bench holds Gatehouse's benchmarks: each figure in BENCHMARKS.md is
// a ratio against a floor (the raw cryptographic or I/O cost of the same
// work) measured in the same run. Run them with `make bench`.
package bench
