package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/snapshot"
)

// A backup holds every credential hash, so manage_security (or all) grants
// it; a restore replaces the whole state, so only all does.
const (
	actionBackup  = authn.ActionBackup
	actionRestore = authn.ActionRestore
)

func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.Authorize(c, actionBackup); err != nil {
		return err
	}
	// Include every write acknowledged anywhere before this request.
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	s.node.CatchUp(ctx)
	cancel()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="tokenstore.backup"`)
	if err := snapshot.Write(w, s.node.State(), time.Now().UnixMilli()); err != nil {
		s.log.Error("backup failed mid-stream", "error", err)
	}
	return nil
}

func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	if err := s.authn.Authorize(c, actionRestore); err != nil {
		return err
	}
	if r.ContentLength > snapshot.MaxBackupSize {
		return backupTooLarge()
	}
	if !s.node.IsLeader() {
		return s.proxyToLeader(w, r) // raft restores on the leader
	}
	hdr, err := snapshot.Restore(s.node, r.Body)
	if errors.Is(err, snapshot.ErrTooLarge) {
		return backupTooLarge()
	}
	if errors.Is(err, snapshot.ErrBadBackup) {
		return badRequest("illegal_argument_exception", shortReason(err.Error()))
	}
	if err != nil {
		return err
	}
	s.log.Info("backup restored", "cluster_id", hdr.ClusterID, "last_index", hdr.LastIndex)
	writeJSON(w, r, http.StatusOK, map[string]any{"restored": true, "format_version": hdr.FormatVersion,
		"source_cluster_id": hdr.ClusterID, "source_last_index": hdr.LastIndex, "counts": hdr.Counts})
	return nil
}

// backupTooLarge is the answer to a backup over snapshot.MaxBackupSize, in
// the form of the request body limit's.
func backupTooLarge() error {
	return &httpError{status: http.StatusRequestEntityTooLarge, typ: "content_too_long_exception",
		reason: snapshot.ErrTooLarge.Error()}
}

// shortReason keeps a backup's error reason short: decoding errors can
// quote parts of the file.
func shortReason(s string) string {
	const max = 300
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "..."
}
