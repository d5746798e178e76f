"""Flowkeeper backfill: streams object labels and annotations to Prometheus remote_write."""
