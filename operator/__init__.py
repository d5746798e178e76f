"""Flowkeeper operator: reconciles FlowCollector resources into per-node collectors.

Importing the package registers the kopf handlers, so `kopf run -m flowkeeper.operator` works.
"""

from flowkeeper.operator import handlers, settings

__all__ = ["handlers", "settings"]
