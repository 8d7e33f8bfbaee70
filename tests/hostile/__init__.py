"""Hostile input, lying servers and faults: one test module per area (issues 16 and 17)."""
