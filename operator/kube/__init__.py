"""Kubernetes I/O: the request client, the child watches and their cache, Events, identity."""
