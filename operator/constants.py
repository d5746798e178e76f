"""The names the operator shares with the cluster: its API group, kind, labels, annotations.

One place, so a rename is one edit.
"""

GROUP = "flows.flowkeeper.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "FlowCollector"
PLURAL = "flowcollectors"

# Annotations the operator writes carry the API group as their prefix (kopf's included).
ANNOTATION_PREFIX = GROUP
LAST_APPLIED_ANNOTATION = f"{GROUP}/last-applied"
# On the pod template: a config change changes it, so the DaemonSet rolls.
CONFIG_HASH_ANNOTATION = f"{GROUP}/config-hash"
# On every child: the digest of what was last built for it.
DESIRED_HASH_ANNOTATION = f"{GROUP}/desired-hash"

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "flowkeeper"
INSTANCE_LABEL = "app.kubernetes.io/instance"
NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
# What the child watches ask the API server for: the children of every FlowCollector.
CHILD_SELECTOR = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
