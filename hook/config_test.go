package hook

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	good := Config{URL: "https://backend.example/hooks?token=x", Secret: []byte("0123456789abcdef")}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string // substrings of the error, in order; none: valid
	}{
		{"minimal", func(*Config) {}, nil},
		{"http", func(c *Config) { c.URL = "http://127.0.0.1:9000/hook" }, nil},
		{"no URL", func(c *Config) { c.URL = "" }, []string{"no URL"}},
		{"ws URL", func(c *Config) { c.URL = "ws://backend/hook" }, []string{`scheme "ws"`}},
		{"relative URL", func(c *Config) { c.URL = "/hook" }, []string{`scheme ""`}},
		{"no host", func(c *Config) { c.URL = "http:///hook" }, []string{"no host"}},
		{"URL does not parse", func(c *Config) { c.URL = "http://a b\x7f/" }, []string{"does not parse"}},
		{"short secret", func(c *Config) { c.Secret = []byte("0123456789abcde") }, []string{"at least 16 bytes, got 15"}},
		{"no secret", func(c *Config) { c.Secret = nil }, []string{"got 0"}},
		{"negatives", func(c *Config) {
			c.ConnectTimeout, c.RetryMax, c.MaxConcurrent, c.MaxResponseBytes = -1, -time.Second, -1, -5
		}, []string{"connect timeout", "retry max", "max concurrent", "max response bytes"}},
		{"retry min over max", func(c *Config) { c.RetryMin = 20 * time.Second }, []string{"retry min 20s exceeds retry max 10s"}},
		{"every problem at once", func(c *Config) { c.URL, c.Secret, c.QueueSize = "", nil, -1 }, []string{"no URL", "secret", "queue size"}},
	} {
		cfg := good
		tc.edit(&cfg)
		err := cfg.Validate()
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: valid, want %q", tc.name, tc.want)
			continue
		}
		rest := err.Error()
		for _, w := range tc.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s: %q lacks %q (in order)", tc.name, err, w)
				break
			}
			rest = rest[i+len(w):]
		}
		if strings.Contains(err.Error(), "token=x") {
			t.Errorf("%s: the error shows the URL's query: %v", tc.name, err)
		}
	}
}

func TestConfigWithDefaults(t *testing.T) {
	got := Config{}.WithDefaults()
	if got.ConnectTimeout != DefaultConnectTimeout || got.MaxConcurrent != DefaultMaxConcurrent ||
		got.QueueSize != DefaultQueueSize || got.BatchSize != DefaultBatchSize || got.BatchWait != DefaultBatchWait ||
		got.RetryMin != DefaultRetryMin || got.RetryMax != DefaultRetryMax || got.EventTimeout != DefaultEventTimeout ||
		got.MaxResponseBytes != DefaultMaxResponseBytes || got.Logger == nil || got.Client != nil || got.FailOpen {
		t.Errorf("defaults %+v", got)
	}
	set := Config{ConnectTimeout: time.Second, MaxConcurrent: 3, BatchSize: 7}.WithDefaults()
	if set.ConnectTimeout != time.Second || set.MaxConcurrent != 3 || set.BatchSize != 7 {
		t.Errorf("set fields changed: %+v", set)
	}
}

func TestNewRefusesInvalidConfig(t *testing.T) {
	if c, err := New(Config{URL: "ftp://x"}); err == nil || c != nil {
		t.Fatalf("New = %v, %v", c, err)
	}
}

func TestDefaultClientDoesNotFollowRedirects(t *testing.T) {
	hc := newHTTPClient(DefaultMaxConcurrent)
	if hc.CheckRedirect == nil || hc.CheckRedirect(nil, nil) == nil {
		t.Error("the default client follows redirects")
	}
}
