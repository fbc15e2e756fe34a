// Package bench is `tokenstore bench`: the load tool users run against their
// own cluster (as `etcd benchmark` and `vault-benchmark` are), and what the
// repository's cluster benchmarks call in process. Clients spread over the
// given nodes, each on its own keep-alive connection, run one workload for a
// duration (paced to a total rate, or as fast as they go) and the run
// reports throughput, latency percentiles and errors by HTTP status.
package bench
