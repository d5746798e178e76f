"""Flowkeeper operator: reconciles FlowCollector resources into per-node collectors."""
