package bench

import (
	"errors"
	"fmt"
	"net/url"
)

// Validate reports every problem with c (defaults applied) at once.
func (c Config) Validate() error {
	var errs []error
	switch c.Scenario {
	case ScenarioConnect, ScenarioBroadcast, ScenarioEcho, ScenarioChurn:
	default:
		errs = append(errs, fmt.Errorf("scenario %q: want connect, broadcast, echo or churn", c.Scenario))
	}
	if len(c.URLs) == 0 {
		errs = append(errs, errors.New("no --url"))
	}
	for _, u := range c.URLs {
		if _, err := ParseTarget(u); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Conns <= 0 || c.Conns+c.ChurnConns >= churnIDBase {
		errs = append(errs, fmt.Errorf("connections must be positive and below %d, got %d", churnIDBase, c.Conns))
	}
	for name, v := range map[string]float64{"connect rate": c.ConnectRate, "rate": c.Rate, "churn rate": c.ChurnRate} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %g", name, v))
		}
	}
	for name, v := range map[string]int{"channels": c.Channels, "publishers": c.Publishers, "window": c.Window,
		"procs": c.Procs, "loops": c.Loops, "dialers": c.Dialers, "churn conns": c.ChurnConns} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", name, v))
		}
	}
	if c.Payload < minPayload || c.Payload > 1<<20 {
		errs = append(errs, fmt.Errorf("payload %d: want %d to 1048576 bytes", c.Payload, minPayload))
	}
	if c.PayloadKind != PayloadFiller && c.PayloadKind != PayloadJSON {
		errs = append(errs, fmt.Errorf("payload kind %q: want %s or %s", c.PayloadKind, PayloadFiller, PayloadJSON))
	}
	if c.Arrivals != ArrivalsUniform && c.Arrivals != ArrivalsPoisson {
		errs = append(errs, fmt.Errorf("arrivals %q: want %s or %s", c.Arrivals, ArrivalsUniform, ArrivalsPoisson))
	}
	if c.SubscribeVia != SubscribeURL && c.SubscribeVia != SubscribeFrame {
		errs = append(errs, fmt.Errorf("subscribe via %q: want %s or %s", c.SubscribeVia, SubscribeURL, SubscribeFrame))
	}
	if c.ServerStatsURL != "" {
		if u, err := url.Parse(c.ServerStatsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("server stats url %q: want http://host:port/path", c.ServerStatsURL))
		}
	}
	if c.Procs > c.Conns+c.ChurnConns {
		errs = append(errs, fmt.Errorf("%d procs for %d connections", c.Procs, c.Conns+c.ChurnConns))
	}
	if per := (c.Conns + c.ChurnConns + c.Procs - 1) / max(c.Procs, 1); per > fdLimit()-fdReserve {
		errs = append(errs, fmt.Errorf("%d connections per process exceed the open-files limit %d (less %d kept in reserve): raise --procs", per, fdLimit(), fdReserve))
	}
	if c.Scenario == ScenarioChurn && c.ChurnRate <= 0 {
		errs = append(errs, errors.New("churn needs --churn-rate"))
	}
	if c.Scenario == ScenarioBroadcast || c.Scenario == ScenarioChurn {
		switch c.PublishVia {
		case PublishHTTP:
			if len(c.PublishURLs) == 0 {
				errs = append(errs, errors.New("--publish-via http needs --publish-url (the admin API, e.g. http://127.0.0.1:8081)"))
			}
			for _, u := range c.PublishURLs {
				if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
					errs = append(errs, fmt.Errorf("publish url %q: want http://host:port", u))
				}
			}
		case PublishWS:
		case PublishNATS:
			if c.NATSURL == "" {
				errs = append(errs, errors.New("--publish-via nats needs --nats-url (the NATS server the nodes share)"))
			}
		default:
			errs = append(errs, fmt.Errorf("publish via %q: want http, ws or nats", c.PublishVia))
		}
		if c.Channels <= 0 {
			errs = append(errs, errors.New("broadcast needs at least one channel"))
		}
	}
	errs = append(errs, c.validateTransport()...)
	errs = append(errs, c.validateHandshake()...)
	if c.ProgressEvery < 0 {
		errs = append(errs, fmt.Errorf("progress interval must not be negative, got %v", c.ProgressEvery))
	}
	ips, err := ParseSourceIPs(c.SourceIPs)
	if err != nil {
		errs = append(errs, err)
	}
	if perTarget := (c.Conns + c.ChurnConns) / max(len(c.URLs), 1); perTarget > portsPerSource*max(len(ips), 1) {
		errs = append(errs, fmt.Errorf("%d connections to one server address need about %d source addresses (--source-ips); have %d",
			perTarget, (perTarget+portsPerSource-1)/portsPerSource, max(len(ips), 1)))
	}
	return errors.Join(errs...)
}

// validateHandshake checks the extra headers and subprotocols, and that
// the extra lines of an upgrade request, and of an admin API request, stay
// within MaxExtraHeaderBytes.
func (c Config) validateHandshake() []error {
	errs := validProtocols(c.Subprotocols)
	protocolBytes := 0
	if l := protocolLine(c.Subprotocols); l != "" {
		protocolBytes = len(l) + 2
	}
	errs = append(errs, validHeaders("header", c.Headers, reservedUpgradeHeaders, protocolBytes)...)
	return append(errs, validHeaders("publish-header", c.PublishHeaders, reservedPublishHeaders, 0)...)
}
