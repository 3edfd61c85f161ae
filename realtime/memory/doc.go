// Package memory is the in-process realtime.Backplane: the default for a
// single node, and a stand-in cluster in tests, where several hubs sharing
// one Backplane behave as several nodes.
package memory
