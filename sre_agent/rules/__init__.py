"""SRE rules, one per module; `base.all_rules()` discovers them."""
