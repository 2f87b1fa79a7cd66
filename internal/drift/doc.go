// Package drift measures how far a candidate version's distribution has moved
// from the stable version's, from two Prometheus histograms of the same
// measurement (prediction scores, an input feature) over the same window:
// the Population Stability Index, with Jensen-Shannon beside it.
package drift
