package httpapi

import (
	"net/http"

	"github.com/tokenstore/tokenstore/authn"
)

func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	write, err := s.cluster.Backup(r.Context(), c)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="tokenstore.backup"`)
	if err := write(w); err != nil {
		s.log.Error("backup failed mid-stream", "error", err)
	}
	return nil
}

func (s *Server) handleRestore(w http.ResponseWriter, r *http.Request, c authn.Caller) error {
	sum, err := s.cluster.Restore(c, r.Body, r.ContentLength)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"restored": true, "format_version": sum.FormatVersion,
		"source_cluster_id": sum.ClusterID, "source_last_index": sum.LastIndex, "counts": sum.Counts})
	return nil
}
