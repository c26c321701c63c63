"""Pulumi components of fluxgitops: the thin layer turning the pure specs into Pulumi resources."""
