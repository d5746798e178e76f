"""The names the operator shares with the cluster: its API group, kind, labels, annotations.

One place, so a rename is one edit. (``model/manifests.py`` and ``model/spec.py`` still hold
the config-hash and desired-hash annotations and the reserved annotation prefix, next to the
code that writes and checks them.)
"""

GROUP = "flows.flowkeeper.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "FlowCollector"
PLURAL = "flowcollectors"

# Annotations the operator writes carry the API group as their prefix (kopf's included).
ANNOTATION_PREFIX = GROUP
LAST_APPLIED_ANNOTATION = f"{GROUP}/last-applied"

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "flowkeeper"
INSTANCE_LABEL = "app.kubernetes.io/instance"
# What the child watches ask the API server for: the children of every FlowCollector.
CHILD_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
