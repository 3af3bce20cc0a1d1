package reactor

import (
	"reflect"
	"testing"
	"time"
)

// notBounds are Config's fields that Bounds leaves out, each for a reason:
// a new Config field must either show in /api/stats or be listed here.
var notBounds = map[string]string{
	"Listen":               "an address, not a bound",
	"SingleListener":       "how sockets are accepted, not a bound",
	"ReusePort":            "how sockets are accepted, not a bound",
	"Limits":               "shown field by field (MaxHeaderBytes, MaxFrameSize, MaxMessageSize)",
	"ReservedFDs":          "shown through MaxSockets, which it sets",
	"MaxRateLimitIPs":      "a memory bound of the handshake rate limit, not a client's",
	"AuthRequired":         "shown through Auth (AuthMode)",
	"PublicChannels":       "token policy: patterns, not a bound",
	"AllowedOrigins":       "browser policy: patterns, not a bound",
	"AllowedHosts":         "browser policy: patterns, not a bound",
	"Relay":                "a handle",
	"NodeID":               "a name in the connected frame, not a bound",
	"Version":              "a name in the connected frame, not a bound",
	"SlowPolicyFor":        "a function: per-channel policies, from the config file's namespaces",
	"Logger":               "a handle",
	"ProxyProtocol":        "who the client is behind a proxy (docs/security.md), not a bound",
	"Compression":          "a feature switch, not a bound",
	"CompressionMinSize":   "a threshold of the server's own choice, not a client's bound",
	"TrustedProxies":       "who the client is behind a proxy, not a bound",
	"ForwardedHeader":      "who the client is behind a proxy, not a bound",
	"AllowUntrustedDirect": "who the client is behind a proxy, not a bound",
	"Hooks":                "a handle: its own bounds (hook.Config) and counters show under /api/stats hooks",
	"HookConnect":          "a feature switch, not a bound",
	"HookPublish":          "a feature switch, not a bound",
	"HookMessage":          "a feature switch, not a bound",
	"Presence":             "a handle: its bounds are the store's (package presence), its counters under /api/stats presence",
	"PresenceChannels":     "which channels keep presence: patterns, not a bound",
}

// TestBoundsCoverConfig: every Config field shows in Bounds under its own
// name (or is listed in notBounds), and Bounds copies each one's value,
// durations in seconds. A distinct value per field catches a swapped
// assignment.
func TestBoundsCoverConfig(t *testing.T) {
	var c Config
	cv := reflect.ValueOf(&c).Elem()
	for i := range cv.NumField() {
		f := cv.Field(i)
		switch f.Kind() {
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(1000 + i))
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.5)
		case reflect.String:
			f.SetString("mode" + string(rune('a'+i)))
		}
	}
	c.Limits.MaxHeaderBytes, c.Limits.MaxFrameSize, c.Limits.MaxMessageSize = 1, 2, 3
	b := c.Bounds()
	bv := reflect.ValueOf(b)
	for i := range cv.NumField() {
		name := cv.Type().Field(i).Name
		_, excluded := notBounds[name]
		got := bv.FieldByName(name)
		switch {
		case excluded && got.IsValid():
			t.Errorf("Config.%s is in Bounds and in notBounds: drop it from notBounds", name)
		case excluded, name == "Auth": // Auth shows as AuthMode: TestConfigAuthMode
		case !got.IsValid():
			t.Errorf("Config.%s is not in Bounds (/api/stats limits): add it, or say why not in notBounds", name)
		case cv.Field(i).Type() == reflect.TypeFor[time.Duration]():
			if want := time.Duration(cv.Field(i).Int()).Seconds(); got.Float() != want {
				t.Errorf("Bounds.%s = %v, want %v (seconds)", name, got, want)
			}
		case got.Kind() == reflect.String:
			if want := cv.Field(i).String(); got.String() != want {
				t.Errorf("Bounds.%s = %q, want %q", name, got, want)
			}
		case !got.Equal(cv.Field(i)):
			t.Errorf("Bounds.%s = %v, want %v", name, got, cv.Field(i))
		}
	}
	if b.MaxHeaderBytes != 1 || b.MaxFrameSize != 2 || b.MaxMessageSize != 3 {
		t.Errorf("Bounds' wsproto limits = %d, %d, %d, want 1, 2, 3", b.MaxHeaderBytes, b.MaxFrameSize, b.MaxMessageSize)
	}
}

func TestConfigAuthMode(t *testing.T) {
	v := testVerifier(t)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "off"},
		{Config{AuthRequired: true}, "off"}, // Validate refuses it; no verifier, nothing checked
		{Config{Auth: v}, "optional"},
		{Config{Auth: v, AuthRequired: true}, "required"},
	} {
		if got := tc.cfg.AuthMode(); got != tc.want {
			t.Errorf("AuthMode(Auth %v, AuthRequired %v) = %q, want %q", tc.cfg.Auth != nil, tc.cfg.AuthRequired, got, tc.want)
		}
	}
}
