"""Cluster mode: SWIM membership over gossip (kinship), peer discovery, and config-change notices between nodes.

`ClusterNode` is started by the server when `cluster_config.enabled`; the server hands it the callback that
reloads a changed entity from the shared config store. This package never imports the engine or the server.
"""

from bifrost.cluster.node import ClusterNode, MemberView

__all__ = ["ClusterNode", "MemberView"]
