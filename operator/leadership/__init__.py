"""Leader election: the Lease records (pure), the elector thread, and running the operator
only while this replica leads."""
