package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/catalogue"
	"github.com/hallmark-project/hallmark/internal/store"
)

// maxCatalogueBody bounds a catalogue document.
const maxCatalogueBody = 4 << 20

type catalogueJSON struct {
	Version     int64           `json:"version"`
	PublishedAt *time.Time      `json:"published_at,omitempty"`
	Document    json.RawMessage `json:"document"`
}

// publishCatalogue stores the body, a catalogue document, as the next
// version of the trusted software catalogue.
func (s *Server) publishCatalogue(w http.ResponseWriter, r *http.Request,
	_ audit.Actor) *apiError {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil ||
		mt != "application/json" {
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"the body must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCatalogueBody))
	var maxErr *http.MaxBytesError
	if errors.As(err, &maxErr) {
		return newError(http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the body is larger than %d bytes", maxErr.Limit))
	}
	if err != nil {
		return newError(http.StatusBadRequest, "invalid_request", "could not read the body")
	}
	version, err := s.cat.Publish(r.Context(), body)
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return newError(http.StatusConflict, "catalogue_conflict",
				"another catalogue was published at the same time; publish again")
		}
		if errors.Is(err, catalogue.ErrInvalid) {
			return newError(http.StatusBadRequest, "invalid_catalogue", err.Error())
		}
		return errInternal(err)
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"version": version})
	return nil
}

func (s *Server) getCatalogue(w http.ResponseWriter, r *http.Request, _ audit.Actor) *apiError {
	_, rec, err := s.cat.Latest(r.Context())
	if err != nil {
		return errInternal(err)
	}
	out := catalogueJSON{Version: rec.Version, Document: rec.Document,
		PublishedAt: optTime(rec.CreatedAt)}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type issuanceJSON struct {
	Seq              int64           `json:"seq"`
	DeviceID         string          `json:"device_id"`
	Serial           string          `json:"serial"`
	NotBefore        time.Time       `json:"not_before"`
	NotAfter         time.Time       `json:"not_after"`
	Verdict          string          `json:"verdict"`
	CatalogueVersion int64           `json:"catalogue_version"`
	CertSHA256       string          `json:"certificate_sha256"`
	EvidenceSHA256   string          `json:"evidence_sha256"`
	Software         json.RawMessage `json:"software,omitempty"`
	IssuedAt         time.Time       `json:"issued_at"`
}

type issuanceList struct {
	Issuances []issuanceJSON `json:"issuances"`
	Next      int64          `json:"next,omitempty"`
}

// listIssuances is the tenant's issuance log, newest first; ?device= selects
// one device, ?before= and ?limit= page.
func (s *Server) listIssuances(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	t, e := s.tenantScope(r, a)
	if e != nil {
		return e
	}
	before, limit, e := seqPage(r)
	if e != nil {
		return e
	}
	f := store.IssuanceFilter{TenantID: t.ID, DeviceID: r.URL.Query().Get("device"),
		Before: before, Limit: limit}
	is, err := s.store.ListIssuances(r.Context(), f)
	if err != nil {
		return errInternal(err)
	}
	out := issuanceList{Issuances: make([]issuanceJSON, len(is))}
	for i, is := range is {
		out.Issuances[i] = issuanceJSON{Seq: is.Seq, DeviceID: is.DeviceID,
			Serial: fmt.Sprintf("%x", is.Serial), NotBefore: is.NotBefore,
			NotAfter: is.NotAfter, Verdict: is.Verdict, CatalogueVersion: is.CatalogueVersion,
			CertSHA256:     fmt.Sprintf("%x", is.CertDigest),
			EvidenceSHA256: fmt.Sprintf("%x", is.EvidenceDigest), IssuedAt: is.CreatedAt}
		if is.Software != "" {
			out.Issuances[i].Software = json.RawMessage(is.Software)
		}
	}
	if len(is) == f.Limit {
		out.Next = is[len(is)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
