// Package wire is wsgate's client protocol: the JSON spoken on /ws, as
// bytes in and bytes out. It starts with the channel-name rule that relay
// (subjects), auth (channel patterns) and the gateway share.
package wire
