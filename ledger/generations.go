package ledger

// generations keeps values by lot id within about limit bytes, for the
// decoded-lot caches (nodeCache, lotCache): two generations of at most
// limit/2 each; when the current one is full it becomes the old one and
// the old one is dropped, and a hit in the old generation moves the value
// to the current one. The zero value is empty and ready; it is not safe
// for concurrent use.
type generations[V sized] struct {
	cur, old           map[string]V
	curBytes, oldBytes int
}

// sized is a cached value that estimates the memory it takes.
type sized interface{ size() int }

// get returns the value of id for which fresh holds.
func (g *generations[V]) get(id string, fresh func(V) bool, limit int) (V, bool) {
	if v, ok := g.cur[id]; ok && fresh(v) {
		return v, true
	}
	if v, ok := g.old[id]; ok && fresh(v) {
		g.put(id, v, limit)
		return v, true
	}
	var none V
	return none, false
}

// put keeps v as id's value.
func (g *generations[V]) put(id string, v V, limit int) {
	if g.cur == nil || g.curBytes >= limit/2 {
		g.old, g.cur, g.oldBytes, g.curBytes = g.cur, make(map[string]V, 1024), g.curBytes, 0
	}
	if prev, ok := g.cur[id]; ok {
		g.curBytes -= prev.size()
	}
	g.cur[id] = v
	g.curBytes += v.size()
}

// bytes returns the estimated memory both generations hold.
func (g *generations[V]) bytes() int { return g.curBytes + g.oldBytes }

// remove forgets id's value.
func (g *generations[V]) remove(id string) {
	if v, ok := g.cur[id]; ok {
		g.curBytes -= v.size()
		delete(g.cur, id)
	}
	if v, ok := g.old[id]; ok {
		g.oldBytes -= v.size()
		delete(g.old, id)
	}
}
