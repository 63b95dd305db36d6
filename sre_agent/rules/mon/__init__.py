"""監視・アラート (monitoring) rules."""
