package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxAdminBody bounds an admin API answer that loadgen reads.
const maxAdminBody = 4 << 20

// adminClient calls the admin API.
type adminClient struct {
	base string // without a trailing slash
	hc   *http.Client
}

// apiError is an error answer of the admin API.
type apiError struct {
	Method, Path string
	Status       int
	Code         string
	Message      string
	Hint         string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s %s: %s", e.Method, e.Path, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s %s: %s: %s", e.Method, e.Path, e.Code, e.Message)
}

// call sends a request with a bearer token and decodes a 2xx answer's JSON
// into out, if out is not nil. Any other answer is an *apiError.
func (a *adminClient) call(ctx context.Context, method, path, token, contentType string,
	body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err // a *url.Error, which names the method and URL
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAdminBody))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &apiError{Method: method, Path: path, Status: resp.StatusCode}
		var eb struct {
			Error struct{ Code, Message, Hint string } `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil {
			e.Code, e.Message, e.Hint = eb.Error.Code, eb.Error.Message, eb.Error.Hint
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

// postJSON sends v as JSON.
func (a *adminClient) postJSON(ctx context.Context, path, token string, v, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("POST %s: encode: %w", path, err)
	}
	return a.call(ctx, http.MethodPost, path, token, "application/json", body, out)
}
