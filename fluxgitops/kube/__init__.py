"""Kubernetes I/O (lightkube): connect, apply, read and delete rendered objects.

The only package of the core that talks to a cluster; the dynamic provider,
the CLI and the reconciler call it. Everything above it stays pure.
"""
