"""The kopf application: handlers, kopf settings, and the /healthz endpoint of a standby."""
