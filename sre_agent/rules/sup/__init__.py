"""抑制コメント (suppressions) rules."""
