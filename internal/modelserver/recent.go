package modelserver

import "sync"

// recent remembers the last predictions by id, so that /feedback can be given
// the id alone. It forgets the oldest first; memory stays bounded however
// long the server runs.
type recent struct {
	mu    sync.Mutex
	max   int
	byID  map[string]bool // id -> predicted fraud
	order []string        // ids, oldest first; may hold ids already used
}

func newRecent(maxEntries int) *recent {
	return &recent{max: maxEntries, byID: make(map[string]bool, maxEntries)}
}

func (r *recent) add(id string, fraud bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byID[id] = fraud
	r.order = append(r.order, id)
	for len(r.byID) > r.max || len(r.order) > 2*r.max {
		delete(r.byID, r.order[0])
		r.order = r.order[1:]
	}
}

// take returns the prediction of id and forgets it: each prediction is judged once.
func (r *recent) take(id string) (fraud, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fraud, ok = r.byID[id]
	delete(r.byID, id)
	return fraud, ok
}
