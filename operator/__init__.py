"""Flowkeeper operator: reconciles FlowCollector resources into per-node collectors.

Importing it (or any of its modules but ``app.handlers``) has no side effect: the kopf handlers
are registered by ``flowkeeper.operator.app.handlers``, which the CLI imports, so
``kopf run -m flowkeeper.operator.app.handlers`` runs the same handlers. docs/operator.md lists
every module.
"""
