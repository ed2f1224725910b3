package client

// interleave merges two task lists, each kept in its order, so that both
// are spread evenly over the result: after any prefix, each list has given
// about the same fraction of its tasks. Workers taking tasks in that order
// then run both kinds side by side to the end. A transfer interleaves the
// large files' parts or ranges, which use the network and the CPUs, with
// the small files, each of which is mostly a round trip to the server (it
// authorises, records and audits every one): one kind's waiting hides
// behind the other's work, where one after the other they would add up.
func interleave[T any](a, b []T) []T {
	out := make([]T, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		// Take from a while its share so far is not ahead of b's:
		// i/len(a) <= j/len(b), cross-multiplied.
		if j == len(b) || (i < len(a) && i*len(b) <= j*len(a)) {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	return out
}

// roundRobin takes one element of each group in turn: the first of every
// group, then the second of every group, and so on. The ranges of several
// large files, taken so, download mostly at the hash's position of their
// files (rangeHasher), hashed from memory; taken file by file, the ranges
// running at once are of one file and all but one of them run ahead of it.
func roundRobin[T any](groups [][]T) []T {
	var out []T
	for k := 0; ; k++ {
		took := false
		for _, g := range groups {
			if k < len(g) {
				out = append(out, g[k])
				took = true
			}
		}
		if !took {
			return out
		}
	}
}
