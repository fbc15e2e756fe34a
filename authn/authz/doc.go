// Package authz is the authorization model: the cluster and index
// privileges and the actions they grant, the built-in roles and service
// accounts, a Permission (the union of role descriptors, limited for an API
// key by its owner's snapshot) and its checks, and has_privileges evaluated
// over a Permission. It holds no state of its own: callers pass what they
// read from the fsm.
package authz
