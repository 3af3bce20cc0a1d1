package client

// Pending reports how many commands wait for an answer, so that tests
// outside the package can poll for a command made while disconnected
// instead of sleeping.
func Pending(c *Client) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}
