// Package httpapi is the Elasticsearch-compatible REST surface: routes,
// request and response JSON, the error envelope, and the middleware that
// authenticates every request. Handlers decode, make one authn call and
// encode; the rules live in authn. Server wires a node together.
package httpapi
