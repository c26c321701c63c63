"""fluxgitops: declarative GitOps with Flux v2 — shared pure core (spec, renderer, diff)."""
