// Package httpapi is the Elasticsearch-compatible REST surface: routes,
// request and response JSON, the error envelope, and the middleware that
// authenticates every request. Handlers decode, make one call into authn or
// into the Cluster that package node supplies, and encode; the rules live
// below. It imports neither cluster nor snapshot: it declares what it needs
// of them (Cluster, and the methods their errors carry).
package httpapi
