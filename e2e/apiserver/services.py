"""Service defaults and allocations (clusterIP, nodePorts, healthCheckNodePort), as on a real
server: on create and on every update, keeping what was allocated before (PatchAllocatedValues).
"""

import ipaddress
from typing import Any

LB_CLEANUP_FINALIZER = "service.kubernetes.io/load-balancer-cleanup"
_NODE_PORTS = range(30000, 32768)


class Allocator:
    """Cluster IPs from 10.96.0.0/12 and node ports from 30000-32767, each used once."""

    def __init__(self) -> None:
        self._network = ipaddress.ip_network("10.96.0.0/12")
        self._next_ip = 10  # .1 is the kubernetes Service's on a real cluster
        self._next_port = 0
        self.ips: set[str] = set()
        self.ports: set[int] = set()

    def ip(self) -> str:
        while True:
            candidate = str(self._network[self._next_ip])
            self._next_ip += 1
            if candidate not in self.ips:
                self.ips.add(candidate)
                return candidate

    def port(self) -> int:
        for _ in _NODE_PORTS:
            candidate = _NODE_PORTS[self._next_port % len(_NODE_PORTS)]
            self._next_port += 1
            if candidate not in self.ports:
                self.ports.add(candidate)
                return candidate
        raise RuntimeError("no node port left")

    def snapshot(self) -> tuple[int, int, set[str], set[int]]:
        return self._next_ip, self._next_port, set(self.ips), set(self.ports)

    def restore(self, saved: tuple[int, int, set[str], set[int]]) -> None:
        """Undo what a dry-run write allocated."""
        self._next_ip, self._next_port, self.ips, self.ports = saved

    def release(self, service: dict[str, Any]) -> None:
        spec = service.get("spec") or {}
        for ip in spec.get("clusterIPs") or []:
            self.ips.discard(ip)
        for port in spec.get("ports") or []:
            self.ports.discard(port.get("nodePort"))
        self.ports.discard(spec.get("healthCheckNodePort"))


def immutable_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    before = (old.get("spec") or {}).get("clusterIP")
    after = (new.get("spec") or {}).get("clusterIP")
    if before and after and before != after:
        return [
            ("spec.clusterIPs[0]", f'Invalid value: []string{{"{after}"}}: may not change once set')
        ]
    return []


def default(
    new: dict[str, Any], old: dict[str, Any] | None, allocator: Allocator
) -> list[tuple[str, str]]:
    """Fill ``new`` in place; ``old`` is the stored object on an update (its allocations stay).

    Returns the validation causes (a node port another Service holds).
    """
    spec = new.setdefault("spec", {})
    before = (old or {}).get("spec") or {}
    if spec.get("selector") == {}:
        del spec["selector"]  # a Go map: omitempty drops it
    kind = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if kind == "ExternalName":
        return []
    causes = _taken_node_ports(spec, before, allocator)
    if causes:
        return causes
    _cluster_ip(spec, before, allocator)
    spec.setdefault("internalTrafficPolicy", "Cluster")
    external = kind in ("NodePort", "LoadBalancer")
    if external:
        spec.setdefault("externalTrafficPolicy", "Cluster")
    else:
        # What only an external Service has goes when it stops being one (dropTypeDependentFields).
        spec.pop("externalTrafficPolicy", None)
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    else:
        spec.pop("allocateLoadBalancerNodePorts", None)
    wants_node_ports = kind == "NodePort" or (
        kind == "LoadBalancer" and spec["allocateLoadBalancerNodePorts"]
    )
    old_ports = {(p.get("port"), p.get("protocol", "TCP")): p for p in before.get("ports") or []}
    for port in spec.get("ports") or []:
        port.setdefault("protocol", "TCP")
        port.setdefault("targetPort", port.get("port"))
        if wants_node_ports and not port.get("nodePort"):
            previous = old_ports.get((port.get("port"), port["protocol"]), {}).get("nodePort")
            port["nodePort"] = previous or allocator.port()
        elif not external:
            port.pop("nodePort", None)
    if kind == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local":
        if not spec.get("healthCheckNodePort"):
            spec["healthCheckNodePort"] = before.get("healthCheckNodePort") or allocator.port()
    else:
        spec.pop("healthCheckNodePort", None)
    allocator.ports -= _node_ports(before) - _node_ports(spec)
    allocator.ports |= _node_ports(spec)
    return causes


def _node_ports(spec: dict[str, Any]) -> set[int]:
    ports = {p["nodePort"] for p in spec.get("ports") or [] if p.get("nodePort")}
    return ports | ({spec["healthCheckNodePort"]} if spec.get("healthCheckNodePort") else set())


def _taken_node_ports(
    spec: dict[str, Any], before: dict[str, Any], allocator: Allocator
) -> list[tuple[str, str]]:
    mine = _node_ports(before)
    return [
        (
            f"spec.ports[{i}].nodePort",
            f"Invalid value: {p['nodePort']}: provided port is already allocated",
        )
        for i, p in enumerate(spec.get("ports") or [])
        if p.get("nodePort") in allocator.ports and p["nodePort"] not in mine
    ]


def _cluster_ip(spec: dict[str, Any], before: dict[str, Any], allocator: Allocator) -> None:
    if not spec.get("clusterIP"):
        spec["clusterIP"] = before.get("clusterIP") or allocator.ip()
    elif spec["clusterIP"] != "None" and spec["clusterIP"] != before.get("clusterIP"):
        allocator.ips.add(spec["clusterIP"])
    spec["clusterIPs"] = [spec["clusterIP"]]
    if spec["clusterIP"] != "None":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
