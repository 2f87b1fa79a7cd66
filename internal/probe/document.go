package probe

import (
	"context"
	"net/http"
	"net/url"

	"github.com/modelgate/modelgate/internal/checklist"
)

// Document fetches the model card at the URL raw, reading at most 1 MiB; a
// longer document is an error rather than a truncated card. Err says why it
// could not be fetched. Document returns nil when raw is empty.
func (p *Prober) Document(ctx context.Context, raw string) *checklist.ModelCardDocument {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return &checklist.ModelCardDocument{Err: "the URL is not valid: " + parseErr(err)}
	case !isHTTPURL(u):
		return &checklist.ModelCardDocument{Err: "the URL is not an http:// or https:// URL"}
	}
	out, err := p.do(ctx, "document\x00"+raw, func(ctx context.Context) outcome {
		return p.document(ctx, raw, u.Host)
	})
	if err != nil {
		return &checklist.ModelCardDocument{Err: "the fetch was cancelled before it finished: " + err.Error()}
	}
	doc := out.doc
	return &doc
}

func (p *Prober) document(ctx context.Context, raw, host string) outcome {
	status, body, tooLarge, err := p.get(ctx, raw, "text/markdown, text/plain;q=0.9, */*;q=0.1")
	switch {
	case err != nil:
		return outcome{doc: checklist.ModelCardDocument{Err: host + ": " + p.describe(err)}, transient: true}
	case status >= 500 || status < 200 || (status >= 300 && status < 400):
		return outcome{doc: checklist.ModelCardDocument{Err: host + " answered " + httpStatus(status)}, transient: true}
	case status == http.StatusNotFound || status == http.StatusGone:
		return outcome{doc: checklist.ModelCardDocument{Err: host + " answered " + httpStatus(status), NotFound: true}}
	case status >= 400:
		return outcome{doc: checklist.ModelCardDocument{Err: host + " answered " + httpStatus(status)}}
	case tooLarge:
		return outcome{doc: checklist.ModelCardDocument{Err: "the document is larger than 1 MiB, the most modelgate reads"}}
	}
	return outcome{doc: checklist.ModelCardDocument{Body: string(body)}}
}
