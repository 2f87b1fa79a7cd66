package checklist

import (
	"net/url"
	"strings"
)

// RedactURL shows a URL without what may be a credential: the user information
// and the query (a pre-signed URL's signature) are left out.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		shown, _, _ := strings.Cut(raw, "?")
		if scheme, rest, ok := strings.Cut(shown, "://"); ok {
			authority, _, _ := strings.Cut(rest, "/")
			if i := strings.LastIndexByte(authority, '@'); i >= 0 {
				shown = scheme + "://" + rest[i+1:]
			}
		}
		return shown
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "…", false
	}
	return u.String()
}
