"""An emulated kube-apiserver for tests and the demo (see e2e/README.md)."""
