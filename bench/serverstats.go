package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// fetchServerCounters reads a server's JSON stats object (wsgate: GET
// /api/stats on the admin API) and returns its numeric fields, those of
// nested objects named by their path ("stats.compressions").
// It is one HTTP request, with header (Config.PublishHeaders), bounded by a
// 5 s timeout, at each end of the load: never on the measured path.
func fetchServerCounters(url string, header http.Header) (map[string]float64, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var fields map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&fields); err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	out := make(map[string]float64)
	flattenNumbers(out, "", fields, 4)
	return out, nil
}

// flattenNumbers copies obj's numbers into out under prefix plus their
// path, down to depth levels of nesting.
func flattenNumbers(out map[string]float64, prefix string, obj map[string]any, depth int) {
	for k, v := range obj {
		switch v := v.(type) {
		case float64:
			out[prefix+k] = v
		case map[string]any:
			if depth > 1 {
				flattenNumbers(out, prefix+k+".", v, depth-1)
			}
		}
	}
}

// ServerCounter is the growth over the load of the server counter called
// name, at any depth of the stats object ("compressions" finds
// "stats.compressions"); ok is false when the report has none.
func (r *Report) ServerCounter(name string) (v float64, ok bool) {
	if v, ok := r.ServerCounters[name]; ok {
		return v, true
	}
	for k, v := range r.ServerCounters {
		if strings.HasSuffix(k, "."+name) {
			return v, true
		}
	}
	return 0, false
}
