// Package control is the backend's control of connections across the
// cluster: push to, close, describe, subscribe and unsubscribe one
// connection by its ID, or every connection of a user, from any node.
//
// A connection ID names its node ("<node>.<32 hex>", reactor/identity.go),
// so a request for one connection goes to that node alone, over the
// relay's request/reply (relay.Control: NATS request/reply on
// "wsgate.ctl.node.<node>", or in process for a single node). A user's
// connections may be on any node, so a per-user request goes to every
// node at once ("wsgate.ctl.all") and the answers are summed; the nodes
// seen alive (heartbeats on "wsgate.ctl.alive", every second) are the
// ones waited for, and a node that does not answer within the deadline
// is named in the error (HTTP 504 at the admin API).
//
// Bounds: a request's data is the node's --max-data-size; one request
// waits at most Config.Timeout; a per-user request reaches at most
// Config.MaxUserConns connections per node (the answer says when it was
// truncated); a node serves at most relay.MaxControlInFlight requests at
// once and answers busy (503) past them; the admin API bounds its own
// requests in flight (admin.MaxControlInFlight).
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wsgate/wsgate/reactor"
	"github.com/wsgate/wsgate/relay"
)

// Defaults of Config.
const (
	DefaultTimeout      = 2 * time.Second
	DefaultMaxUserConns = 1000
)

// Config configures the control plane; zero fields take the defaults.
type Config struct {
	Timeout      time.Duration // how long a request waits for the nodes it asks
	MaxUserConns int           // per node, the connections a per-user request reaches
}

// Plane routes control requests to the nodes that hold the connections,
// and serves this node's share.
type Plane struct {
	eng  *reactor.Engine
	bus  relay.Control
	node string
	cfg  Config
}

// New returns the control plane of eng's node, answering other nodes'
// requests through bus.
func New(eng *reactor.Engine, bus relay.Control, cfg Config) (*Plane, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxUserConns <= 0 {
		cfg.MaxUserConns = DefaultMaxUserConns
	}
	p := &Plane{eng: eng, bus: bus, node: eng.Config().NodeID, cfg: cfg}
	busy, _ := json.Marshal(answer{Status: http.StatusServiceUnavailable, Error: "busy", Message: "the node serves too many control requests at once"})
	if err := bus.ServeControl(p.node, p.serve, busy); err != nil {
		return nil, err
	}
	return p, nil
}

// request is a control request on the bus.
type request struct {
	Conn    string             `json:"conn,omitempty"` // one connection, or
	User    string             `json:"user,omitempty"` // every connection of a user
	Op      reactor.ConnOpKind `json:"op"`
	Data    json.RawMessage    `json:"data,omitempty"`
	Code    int                `json:"code,omitempty"`
	Reason  string             `json:"reason,omitempty"`
	Channel string             `json:"channel,omitempty"`
}

// answer is a node's answer.
type answer struct {
	Status  int                 `json:"status"`
	Error   string              `json:"error,omitempty"`
	Message string              `json:"message,omitempty"`
	Info    *reactor.ConnInfo   `json:"info,omitempty"`
	User    *reactor.UserResult `json:"user,omitempty"`
}

// Error is a refused or failed request, with the HTTP status and error
// code the admin API answers with.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Message }

var errNotFound = &Error{http.StatusNotFound, "not_found", "no such connection"}

// Conn runs op on the connection id names, wherever it is.
func (p *Plane) Conn(ctx context.Context, id string, op reactor.ConnOp) (reactor.ConnInfo, error) {
	if err := p.eng.Check(op); err != nil {
		return reactor.ConnInfo{}, &Error{http.StatusBadRequest, "bad_request", err.Error()}
	}
	node := reactor.NodeOf(id)
	if !reactor.ValidNodeID(node) {
		return reactor.ConnInfo{}, errNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, _ := json.Marshal(request{Conn: id, Op: op.Kind, Data: op.Data, Code: op.Code, Reason: op.Reason, Channel: op.Channel})
	b, err := p.bus.Ask(ctx, node, req)
	switch {
	case errors.Is(err, relay.ErrNoNode):
		return reactor.ConnInfo{}, errNotFound // the node is gone, and its connections with it
	case err != nil && ctx.Err() != nil:
		return reactor.ConnInfo{}, timeout([]string{node})
	case err != nil:
		return reactor.ConnInfo{}, &Error{http.StatusBadGateway, "bus_error", fmt.Sprintf("asking node %s: %v", node, err)}
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return reactor.ConnInfo{}, &Error{http.StatusBadGateway, "bad_answer", fmt.Sprintf("node %s: %v", node, err)}
	}
	if a.Status != http.StatusOK {
		return reactor.ConnInfo{}, &Error{a.Status, a.Error, a.Message}
	}
	if a.Info == nil {
		return reactor.ConnInfo{}, &Error{http.StatusBadGateway, "bad_answer", "node " + node + " sent no description"}
	}
	return *a.Info, nil
}

// UserResult is what a per-user request did across the cluster.
type UserResult struct {
	Conns     int      `json:"connections"`        // connections reached
	AtLimit   int      `json:"at_limit,omitempty"` // subscribe: connections (or nodes) at their limit, not subscribed
	Nodes     []string `json:"nodes"`              // nodes where the user has connections
	Truncated bool     `json:"truncated"`          // some node held more than the per-node bound
}

// User runs op on every connection of user, on every node.
func (p *Plane) User(ctx context.Context, user string, op reactor.ConnOp) (UserResult, error) {
	if err := p.eng.Check(op); err != nil {
		return UserResult{}, &Error{http.StatusBadRequest, "bad_request", err.Error()}
	}
	if user == "" || len(user) > 256 {
		return UserResult{}, &Error{http.StatusBadRequest, "bad_request", "a user is 1-256 bytes"}
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, _ := json.Marshal(request{User: user, Op: op.Kind, Data: op.Data, Code: op.Code, Reason: op.Reason, Channel: op.Channel})
	answers, missing, err := p.bus.AskAll(ctx, req)
	if err != nil {
		return UserResult{}, &Error{http.StatusBadGateway, "bus_error", err.Error()}
	}
	res := UserResult{Nodes: []string{}}
	for node, b := range answers {
		var a answer
		if json.Unmarshal(b, &a) != nil {
			missing = append(missing, node)
			continue
		}
		switch {
		case a.Status == http.StatusOK && a.User != nil:
			res.Conns += a.User.Conns
			res.AtLimit += a.User.AtLimit
			res.Truncated = res.Truncated || a.User.Truncated
			res.Nodes = append(res.Nodes, node)
		case a.Status == http.StatusNotFound:
		default:
			return res, &Error{a.Status, a.Error, "node " + node + ": " + a.Message}
		}
	}
	if len(missing) > 0 {
		return res, timeout(missing)
	}
	if res.Conns == 0 && res.AtLimit == 0 && op.Kind != reactor.OpUnsubscribe {
		return res, &Error{http.StatusNotFound, "not_found", "the user has no connection"}
	}
	return res, nil
}

func timeout(nodes []string) *Error {
	return &Error{http.StatusGatewayTimeout, "node_timeout", "no answer in time from node " + strings.Join(nodes, ", ")}
}

// serve answers another node's request (or this one's) about this node's
// connections. It runs on the relay's bounded goroutines.
func (p *Plane) serve(b []byte) []byte {
	var req request
	var a answer
	if err := json.Unmarshal(b, &req); err != nil {
		a = answer{Status: http.StatusBadRequest, Error: "bad_request", Message: "malformed control request"}
	} else {
		a = p.local(req)
	}
	out, _ := json.Marshal(a)
	return out
}

// local runs req on this node's connections.
func (p *Plane) local(req request) answer {
	// Shorter than the asker's wait, so that a slow loop is answered as
	// such rather than as a node that did not answer.
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.Timeout*3/4)
	defer cancel()
	op := reactor.ConnOp{Kind: req.Op, Data: req.Data, Code: req.Code, Reason: req.Reason, Channel: req.Channel}
	if req.User != "" {
		res, err := p.eng.ControlUser(ctx, req.User, op, p.cfg.MaxUserConns)
		if err != nil {
			return failure(err)
		}
		return answer{Status: http.StatusOK, User: &res}
	}
	info, err := p.eng.Control(ctx, req.Conn, op)
	if err != nil {
		return failure(err)
	}
	return answer{Status: http.StatusOK, Info: &info}
}

// failure is the answer for a reactor error.
func failure(err error) answer {
	var opErr *reactor.OpError
	switch {
	case errors.As(err, &opErr):
		return answer{Status: http.StatusBadRequest, Error: "bad_request", Message: err.Error()}
	case errors.Is(err, reactor.ErrUnknownConn):
		return answer{Status: http.StatusNotFound, Error: "not_found", Message: "no such connection"}
	case errors.Is(err, reactor.ErrNotSubscribed):
		return answer{Status: http.StatusConflict, Error: "not_subscribed", Message: err.Error()}
	case errors.Is(err, reactor.ErrSubscriptionLimit), errors.Is(err, reactor.ErrChannelLimit):
		return answer{Status: http.StatusConflict, Error: "limit", Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return answer{Status: http.StatusGatewayTimeout, Error: "node_timeout", Message: "the connection's event loop did not answer in time"}
	}
	return answer{Status: http.StatusInternalServerError, Error: "internal", Message: err.Error()}
}
