"""The controller: the work queue, the one reconcile per FlowCollector and what it calls."""
