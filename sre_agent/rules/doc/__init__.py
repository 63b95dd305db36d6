"""設計書の整合性 (design documents) rules."""
