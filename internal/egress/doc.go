// Package egress decides which addresses the manager may reach when it fetches
// something on a spec's behalf, checks every redirect, and tells why a request
// failed in a few fixed words rather than with the far end's own text.
package egress
