"""Analyzers behind one interface: our rules, cfn-lint, checkov (shellcheck runs as DEP016)."""
