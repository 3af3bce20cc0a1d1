package bench

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// makeDialers returns one dialer per source address (or one with none).
// IP_BIND_ADDRESS_NO_PORT lets the kernel pick the source port at connect
// time, so a port is shared across destinations instead of being reserved
// by bind.
func makeDialers(plan Plan) []net.Dialer {
	ctl := func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		})
		return errors.Join(err, serr)
	}
	// No TCP keep-alive: Go's dialer turns it on by default (every 15 s),
	// which at 670,000 idle connections is 45,000 probes a second, each
	// answered: the host's softirq time, not the server's work, set the
	// pace (the first million-connection try stalled there). The
	// WebSocket pings are what a run measures.
	if len(plan.SourceIPs) == 0 {
		return []net.Dialer{{Timeout: plan.ConnectTimeout, KeepAlive: -1}}
	}
	ds := make([]net.Dialer, len(plan.SourceIPs))
	for i, ip := range plan.SourceIPs {
		ds[i] = net.Dialer{
			Timeout:   plan.ConnectTimeout,
			KeepAlive: -1,
			LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)),
			Control:   ctl,
		}
	}
	return ds
}

func (s *Shard) dialLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case job := <-s.jobs:
			s.dial(job)
		}
	}
}

func (s *Shard) dial(job dialJob) {
	s.attempted.Add(1)
	now := time.Now().UnixNano()
	ti := int(job.id % uint64(len(s.plan.Targets)))
	if job.retarget {
		ti = job.target
	}
	c := &conn{id: uint32(job.id), target: uint16(ti), slot: -1, started: job.intended, dialed: now}
	if s.plan.Echo {
		c.role = roleEcho
	}
	d := &s.dialers[job.id%uint64(len(s.dialers))]
	nc, err := d.DialContext(s.ctx, "tcp", s.plan.Targets[ti].Addr)
	if err != nil {
		s.dialError(dialErrorKind(err))
		return
	}
	if cfg := s.tlsConfigs[ti]; cfg != nil {
		s.enrollTLS(nc, c, cfg)
		return
	}
	if _, err := s.cli.EnrollContext(nc, c); err != nil {
		s.dialError(kindEnroll)
	}
}

func (s *Shard) dialError(kind string) {
	s.dialFailed.Add(1)
	s.dialErrMu.Lock()
	s.dialErrs[kind]++
	s.dialErrMu.Unlock()
}
