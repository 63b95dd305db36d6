"""テンプレート・IaC の構造 (template structure) rules."""
