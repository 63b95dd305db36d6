"""コスト (estimates, budgets) rules."""
