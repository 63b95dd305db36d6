"""データ保護 (backup, retention, deletion protection) rules."""
