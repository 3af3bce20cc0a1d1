package presence

// dispatchBatch is how many events the dispatcher takes from the queue at
// once.
const dispatchBatch = 256

// dispatch is Local's dispatcher goroutine: it hands the queued events to
// h, in order, until Close.
func (l *Local) dispatch(h func(Event)) {
	defer close(l.done)
	buf := make([]Event, 0, dispatchBatch)
	for {
		select {
		case <-l.stop:
			return
		case <-l.events.signal:
		}
		for {
			buf = l.events.take(buf)
			if len(buf) == 0 {
				break
			}
			for i := range buf {
				select {
				case <-l.stop:
					return
				default:
				}
				h(buf[i])
				l.stats.events.Add(1)
				buf[i] = Event{}
			}
		}
	}
}
