"""可用性 (multi-AZ, redundancy) rules."""
