package notify

import (
	"errors"
	"net/url"
)

// RedactURL shows a receiver URL as scheme://host/…: webhook URLs carry
// their credentials in the path (Slack's /services/T…/B…/secret) or the
// query, so only where it goes is shown.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "(a URL that cannot be parsed)"
	}
	shown := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Opaque != "" || u.Fragment != "" {
		shown += "/…"
	}
	return shown
}

// validURL says what is wrong with a receiver URL, without repeating it.
func validURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return errors.New("the receiver has no URL")
	case err != nil:
		return errors.New("the receiver's URL cannot be parsed")
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("the receiver's URL is not http:// or https://")
	case u.Host == "":
		return errors.New("the receiver's URL has no host")
	}
	return nil
}
