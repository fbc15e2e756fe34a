package cluster

// BatchesInFlight is how many batches a follower has on their way at once.
const BatchesInFlight = batchesInFlight

// MaxBatchItems is the most writes a batch holds.
const MaxBatchItems = maxBatchItems
