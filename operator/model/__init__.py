"""The pure model: the FlowCollector spec and status types, the collector config, the
desired children (manifests) and the status built from the live ones. No I/O."""
