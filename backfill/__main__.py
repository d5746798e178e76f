"""`python -m flowkeeper.backfill`."""

from flowkeeper.backfill.cli import main

raise SystemExit(main())
