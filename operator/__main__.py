"""`python -m flowkeeper.operator`: the same as `flowkeeper-operator`."""

from flowkeeper.operator.cli import main

main()
