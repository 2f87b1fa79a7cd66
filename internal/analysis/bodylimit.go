package analysis

import (
	"fmt"
	"io"
	"net/http"
)

// MaxAnswer bounds what is read of one Prometheus answer. One number fits in
// a few hundred bytes; the bound leaves room for a verbose vector and still
// keeps a hostile or broken server from filling the manager's memory.
const MaxAnswer = 4 << 20

// limitBody reads each response body through a limit of max bytes, failing
// the read past it.
type limitBody struct {
	next http.RoundTripper
	max  int64
}

func (l limitBody) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(r)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &limitedBody{body: resp.Body, left: l.max}
	return resp, nil
}

type limitedBody struct {
	body io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, b.tooLong()
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.body.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - int(-b.left), b.tooLong()
	}
	return n, err
}

// ErrAnswerTooLong fails a query whose answer passed MaxAnswer.
var ErrAnswerTooLong = fmt.Errorf("the answer is longer than %d MiB, more than one number needs", MaxAnswer>>20)

func (b *limitedBody) tooLong() error { return ErrAnswerTooLong }

func (b *limitedBody) Close() error { return b.body.Close() }
