package policy

import "slices"

// ClaimPaths returns the dotted claim paths the policy reads, sorted and
// each once: those its rules' claim conditions name and those its patterns'
// {claim.path} templates expand. A login session keeps these claims of the
// provider's token and no others.
func (e *Engine) ClaimPaths() []string {
	var out []string
	add := func(path string) {
		if !slices.Contains(out, path) {
			out = append(out, path)
		}
	}
	scan := func(ps []pattern) {
		for _, p := range ps {
			for _, pt := range p.parts {
				if pt.kind == partClaim {
					add(pt.text)
				}
			}
		}
	}
	scan(e.anonymous.subscribe)
	scan(e.anonymous.publish)
	for _, r := range e.rules {
		for _, c := range r.when.claims {
			add(c.path)
		}
		scan(r.subscribe)
		scan(r.publish)
	}
	slices.Sort(out)
	return out
}
