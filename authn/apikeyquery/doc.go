// Package apikeyquery is the query language of Elasticsearch's query API
// keys API: it compiles a request's query, sort and paging into a Query,
// which filters, sorts and pages documents of the fields Elasticsearch
// lets the query see. It knows nothing of how keys are stored.
package apikeyquery
