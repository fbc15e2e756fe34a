// Package audit is the security audit log in Elasticsearch 8's logfile
// format: one JSON object a line in <cluster>_audit.json, with the dotted
// field names, field order and event names of Elasticsearch's
// LoggingAuditTrail, so that the tools that read Elasticsearch audit logs
// (Filebeat's elasticsearch module, SIEM rules) read this one unchanged.
//
// Log is an authn.Observer: it hears every authentication, cluster
// authorization and proposed write of the node it runs on, keeps what the
// event settings include and the ignore filters do not drop, and queues a
// record for its writer goroutine. A full queue drops the record and counts
// it (Dropped): the audit log never holds up a request. The writer rolls
// the file daily and by size and gzips the old ones.
//
// Records never carry a secret, a hash or a password: the request bodies a
// security change is described from are read for named fields only, and a
// password is reported as has_password.
package audit
