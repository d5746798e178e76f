"""The pure apply plan: semantic comparison, the three-way merge patch, ownership verdicts."""
